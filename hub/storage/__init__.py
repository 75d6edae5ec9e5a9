"""The store behind the hub and the workers: typed Protocols, one engine per database."""
