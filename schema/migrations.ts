// Database schema versions. Each entry moves the database from version i to i+1; they run in
// one transaction each at start, forward only. Never edit a released entry: add a new one.
export const MIGRATIONS: readonly string[] = [
  // 1: configuration values (only those set; defaults come from schema/config.ts), service state,
  //    accounts and their SSH keys.
  `CREATE TABLE config (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     is_number INTEGER NOT NULL DEFAULT 0,
     changed_at TEXT NOT NULL,
     changed_by TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE state (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE account (
     user TEXT PRIMARY KEY,
     role TEXT NOT NULL CHECK (role IN ('Admin', 'ReadOnly')),
     password TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE authorized_key (
     user TEXT NOT NULL REFERENCES account(user) ON DELETE CASCADE,
     fingerprint TEXT NOT NULL,
     type TEXT NOT NULL,
     blob TEXT NOT NULL,
     comment TEXT NOT NULL,
     added TEXT NOT NULL,
     PRIMARY KEY (user, fingerprint)
   ) WITHOUT ROWID;`,
];
