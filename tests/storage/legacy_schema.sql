-- The schema of the hub before migrations (main at 84a0b2f: hub/store.py, outbox.py, push.py, files.py,
-- records.py), frozen so that the upgrade test builds a database exactly as that code made it.
CREATE TABLE IF NOT EXISTS workflows (
        id TEXT PRIMARY KEY,
        organizationId TEXT,
        name TEXT,
        definition TEXT NOT NULL,
        createdAt TEXT NOT NULL,
        updatedAt TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_executions (
        id TEXT PRIMARY KEY,
        workflowId TEXT NOT NULL,
        workflowName TEXT,
        organizationId TEXT,
        status TEXT NOT NULL,
        currentNodeId TEXT,
        totalNodes INTEGER NOT NULL DEFAULT 0,
        completedNodes INTEGER NOT NULL DEFAULT 0,
        failedNodes INTEGER NOT NULL DEFAULT 0,
        skippedNodes INTEGER NOT NULL DEFAULT 0,
        workflow TEXT NOT NULL,
        inputs TEXT,
        triggerData TEXT,
        engine TEXT NOT NULL,
        finalOutput TEXT,
        error TEXT,
        createdAt TEXT NOT NULL,
        startedAt TEXT,
        completedAt TEXT,
        updatedAt TEXT NOT NULL,
        lastSeq INTEGER NOT NULL DEFAULT 0,
        leaseOwner TEXT,
        leaseExpiresAt REAL,
        cancelRequested INTEGER NOT NULL DEFAULT 0,
        resumeAt REAL,
        maxDurationSeconds REAL,
        deadlineAt REAL,
        retryOf TEXT,
        callbackUrl TEXT,
        jobId TEXT,
        recoveries INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS ix_executions_created ON workflow_executions (createdAt);
CREATE INDEX IF NOT EXISTS ix_executions_workflow ON workflow_executions (workflowId, createdAt);
CREATE INDEX IF NOT EXISTS ix_executions_status ON workflow_executions (status, leaseExpiresAt);
CREATE TABLE IF NOT EXISTS execution_logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        executionId TEXT NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
        nodeId TEXT NOT NULL,
        nodeType TEXT NOT NULL,
        nodeLabel TEXT,
        status TEXT NOT NULL,
        message TEXT,
        duration REAL,
        timestamp TEXT NOT NULL,
        startedAt TEXT,
        completedAt TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        outputData TEXT,
        branch TEXT,
        error TEXT,
        resumeAt REAL,
        UNIQUE (executionId, nodeId));
CREATE TABLE IF NOT EXISTS execution_events (
        executionId TEXT NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        nodeId TEXT,
        timestamp TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (executionId, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivery_outbox (
        id TEXT PRIMARY KEY,
        executionId TEXT NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        nextAttemptAt REAL NOT NULL,
        lockedUntil REAL,
        lastError TEXT,
        createdAt TEXT NOT NULL,
        updatedAt TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_outbox_due ON delivery_outbox (status, nextAttemptAt);
CREATE TABLE IF NOT EXISTS push_subscriptions (
        id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        subscription TEXT NOT NULL,
        scope TEXT NOT NULL,
        executionId TEXT,
        organizationId TEXT,
        createdAt TEXT NOT NULL,
        UNIQUE (endpoint, scope));
CREATE INDEX IF NOT EXISTS ix_push_execution ON push_subscriptions (executionId);
CREATE TABLE IF NOT EXISTS files (
        id TEXT PRIMARY KEY,
        organizationId TEXT,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        contentType TEXT NOT NULL,
        createdAt TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
        id TEXT PRIMARY KEY,
        entity TEXT NOT NULL,
        organizationId TEXT,
        data TEXT NOT NULL,
        createdAt TEXT NOT NULL,
        updatedAt TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_records_entity ON records (organizationId, entity);
