/// The SQL schema. Times are integer milliseconds since 1970 (UTC); flags are 0/1.
enum Schema {
    /// Whether a key's material was imported (0/1); keys made before the column existed were generated here.
    static let importedKeys = "ALTER TABLE managed_keys ADD COLUMN imported INTEGER NOT NULL DEFAULT 0"

    /// The call statistics: calls per UTC day, appkey, key ('' for none), operation and result, added to by every node.
    static let callCounts = """
        CREATE TABLE call_counts (
            appkey TEXT NOT NULL,
            day TEXT NOT NULL,
            key_id TEXT NOT NULL,
            operation TEXT NOT NULL,
            result TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (appkey, day, key_id, operation, result)
        )
        """

    static let initial = """
        CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value BLOB NOT NULL
        );
        CREATE TABLE sequences (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        );
        CREATE TABLE appkeys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE user_access_keys (
            id TEXT PRIMARY KEY,
            appkey TEXT NOT NULL REFERENCES appkeys (id),
            status TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            secret_digest BLOB NOT NULL,
            salt BLOB NOT NULL,
            revision INTEGER NOT NULL
        );
        CREATE TABLE key_stores (
            id INTEGER PRIMARY KEY,
            appkey TEXT NOT NULL REFERENCES appkeys (id),
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            ip4_auth_use INTEGER NOT NULL,
            mac_auth_use INTEGER NOT NULL,
            certificate_auth_use INTEGER NOT NULL,
            auth_mode TEXT NOT NULL,
            status TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            changed_by TEXT NOT NULL,
            changed_at INTEGER NOT NULL,
            revision INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX key_stores_live_name ON key_stores (appkey, name) WHERE status = 'ACTIVE';
        CREATE TABLE managed_keys (
            id TEXT PRIMARY KEY,
            appkey TEXT NOT NULL REFERENCES appkeys (id),
            key_store_id INTEGER NOT NULL REFERENCES key_stores (id),
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            auto_rotation_period INTEGER NOT NULL,
            next_rotation_at INTEGER,
            deletion_at INTEGER,
            latest_version INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            changed_by TEXT NOT NULL,
            changed_at INTEGER NOT NULL,
            last_access_at INTEGER,
            revision INTEGER NOT NULL
        );
        CREATE INDEX managed_keys_store ON managed_keys (key_store_id);
        CREATE INDEX managed_keys_deletion ON managed_keys (status, deletion_at);
        CREATE INDEX managed_keys_rotation ON managed_keys (status, next_rotation_at);
        CREATE TABLE key_versions (
            key_id TEXT NOT NULL REFERENCES managed_keys (id),
            number INTEGER NOT NULL,
            status TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            changed_by TEXT NOT NULL,
            changed_at INTEGER NOT NULL,
            deletion_at INTEGER,
            revision INTEGER NOT NULL,
            PRIMARY KEY (key_id, number)
        );
        CREATE INDEX key_versions_deletion ON key_versions (status, deletion_at);
        CREATE TABLE auth_entries (
            id INTEGER PRIMARY KEY,
            appkey TEXT NOT NULL REFERENCES appkeys (id),
            key_store_id INTEGER NOT NULL REFERENCES key_stores (id),
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            description TEXT NOT NULL,
            status TEXT NOT NULL,
            certificate_serial TEXT,
            certificate_sha256 TEXT,
            certificate_subject TEXT,
            certificate_issuer TEXT,
            certificate_not_before INTEGER,
            certificate_not_after INTEGER,
            certificate_pem TEXT,
            deletion_at INTEGER,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            changed_by TEXT NOT NULL,
            changed_at INTEGER NOT NULL,
            last_access_at INTEGER,
            revision INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX auth_entries_live_value ON auth_entries (key_store_id, kind, value) WHERE status <> 'DELETED';
        CREATE INDEX auth_entries_deletion ON auth_entries (status, deletion_at);
        CREATE TABLE sealed_items (
            label TEXT PRIMARY KEY,
            data BLOB NOT NULL
        );
        CREATE TABLE events (
            sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            appkey TEXT NOT NULL,
            target_kind TEXT NOT NULL,
            target_id TEXT NOT NULL,
            key_store_id INTEGER,
            key_id TEXT,
            key_version INTEGER,
            changes TEXT NOT NULL
        );
        """
}
