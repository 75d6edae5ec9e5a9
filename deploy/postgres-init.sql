-- The Prefect server keeps its own database beside the hub's.
CREATE DATABASE prefect OWNER hub;
