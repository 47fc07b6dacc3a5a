/// The PostgreSQL schema: the same tables and columns as SQLite's (``Schema``), in PostgreSQL's types. Times are
/// milliseconds since 1970 (UTC) in `BIGINT`; identifiers and labels compare byte by byte (`COLLATE "C"`), so that
/// rows come back in the same order on both databases whatever the database's locale.
enum PostgresSchema {
    /// Migrations in order, each a list of statements applied in one transaction with its name recorded.
    static let migrations: [(name: String, statements: [String])] = [
        (
            "1-initial",
            [
                """
                CREATE TABLE settings (
                    name TEXT COLLATE "C" PRIMARY KEY,
                    value BYTEA NOT NULL
                )
                """,
                """
                CREATE TABLE sequences (
                    name TEXT COLLATE "C" PRIMARY KEY,
                    value BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE appkeys (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    name TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE user_access_keys (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    appkey TEXT COLLATE "C" NOT NULL REFERENCES appkeys (id),
                    status TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    secret_digest BYTEA NOT NULL,
                    salt BYTEA NOT NULL,
                    revision BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE key_stores (
                    id BIGINT PRIMARY KEY,
                    appkey TEXT COLLATE "C" NOT NULL REFERENCES appkeys (id),
                    name TEXT COLLATE "C" NOT NULL,
                    description TEXT NOT NULL,
                    ip4_auth_use BOOLEAN NOT NULL,
                    mac_auth_use BOOLEAN NOT NULL,
                    certificate_auth_use BOOLEAN NOT NULL,
                    auth_mode TEXT NOT NULL,
                    status TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    changed_by TEXT NOT NULL,
                    changed_at BIGINT NOT NULL,
                    revision BIGINT NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX key_stores_live_name ON key_stores (appkey, name) WHERE status = 'ACTIVE'",
                """
                CREATE TABLE managed_keys (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    appkey TEXT COLLATE "C" NOT NULL REFERENCES appkeys (id),
                    key_store_id BIGINT NOT NULL REFERENCES key_stores (id),
                    name TEXT NOT NULL,
                    description TEXT NOT NULL,
                    type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    auto_rotation_period BIGINT NOT NULL,
                    next_rotation_at BIGINT,
                    deletion_at BIGINT,
                    latest_version BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    changed_by TEXT NOT NULL,
                    changed_at BIGINT NOT NULL,
                    last_access_at BIGINT,
                    revision BIGINT NOT NULL
                )
                """,
                "CREATE INDEX managed_keys_store ON managed_keys (key_store_id)",
                "CREATE INDEX managed_keys_deletion ON managed_keys (status, deletion_at)",
                "CREATE INDEX managed_keys_rotation ON managed_keys (status, next_rotation_at)",
                """
                CREATE TABLE key_versions (
                    key_id TEXT COLLATE "C" NOT NULL REFERENCES managed_keys (id),
                    number BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    changed_by TEXT NOT NULL,
                    changed_at BIGINT NOT NULL,
                    deletion_at BIGINT,
                    revision BIGINT NOT NULL,
                    PRIMARY KEY (key_id, number)
                )
                """,
                "CREATE INDEX key_versions_deletion ON key_versions (status, deletion_at)",
                """
                CREATE TABLE auth_entries (
                    id BIGINT PRIMARY KEY,
                    appkey TEXT COLLATE "C" NOT NULL REFERENCES appkeys (id),
                    key_store_id BIGINT NOT NULL REFERENCES key_stores (id),
                    kind TEXT NOT NULL,
                    value TEXT COLLATE "C" NOT NULL,
                    description TEXT NOT NULL,
                    status TEXT NOT NULL,
                    certificate_serial TEXT,
                    certificate_sha256 TEXT,
                    certificate_subject TEXT,
                    certificate_issuer TEXT,
                    certificate_not_before BIGINT,
                    certificate_not_after BIGINT,
                    certificate_pem TEXT,
                    deletion_at BIGINT,
                    created_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    changed_by TEXT NOT NULL,
                    changed_at BIGINT NOT NULL,
                    last_access_at BIGINT,
                    revision BIGINT NOT NULL
                )
                """,
                """
                CREATE UNIQUE INDEX auth_entries_live_value ON auth_entries (key_store_id, kind, value)
                WHERE status <> 'DELETED'
                """,
                "CREATE INDEX auth_entries_deletion ON auth_entries (status, deletion_at)",
                """
                CREATE TABLE sealed_items (
                    label TEXT COLLATE "C" PRIMARY KEY,
                    data BYTEA NOT NULL
                )
                """,
                """
                CREATE TABLE events (
                    sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    time BIGINT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    appkey TEXT COLLATE "C" NOT NULL,
                    target_kind TEXT NOT NULL,
                    target_id TEXT NOT NULL,
                    key_store_id BIGINT,
                    key_id TEXT COLLATE "C",
                    key_version BIGINT,
                    changes TEXT NOT NULL
                )
                """,
            ]
        ),
        (
            "2-imported-keys",
            ["ALTER TABLE managed_keys ADD COLUMN imported BOOLEAN NOT NULL DEFAULT FALSE"]
        ),
        (
            "3-call-counts",
            [
                """
                CREATE TABLE call_counts (
                    appkey TEXT COLLATE "C" NOT NULL,
                    day TEXT COLLATE "C" NOT NULL,
                    key_id TEXT COLLATE "C" NOT NULL,
                    operation TEXT COLLATE "C" NOT NULL,
                    result TEXT COLLATE "C" NOT NULL,
                    count BIGINT NOT NULL,
                    PRIMARY KEY (appkey, day, key_id, operation, result)
                )
                """
            ]
        ),
    ]

    /// The table that records applied migrations; its presence marks an SKM database.
    static let migrationsTable = "skm_migrations"
}
