"""GrantFlow workflow engine: definitions, verification, compiled machines, audited operations."""
