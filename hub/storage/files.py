"""The ``files`` table: uploaded files' metadata (their bytes live in the file store)."""

from __future__ import annotations

from hub.storage._base import Tables
from hub.storage._engine import Connection
from hub.storage.contract import FileRecord


class SqlFileMetadata(Tables):
    """One row per uploaded file."""

    async def add(self, record: FileRecord) -> None:
        def insert(connection: Connection) -> None:
            connection.execute(
                """INSERT INTO files (id, organizationId, name, size, contentType, createdAt)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    record.file_id,
                    record.organization_id,
                    record.name,
                    record.size,
                    record.content_type,
                    record.created_at,
                ),
            )

        await self.engine.write(insert)

    async def get(self, file_id: str) -> FileRecord | None:
        row = await self.engine.fetch_one(
            "SELECT id, organizationId, name, size, contentType, createdAt FROM files WHERE id = ?", (file_id,)
        )
        if row is None:
            return None
        return FileRecord(
            row["id"], row["organizationId"], row["name"], row["size"], row["contentType"], row["createdAt"]
        )
