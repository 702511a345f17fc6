//! The two back-ends behind one small interface: a connection that runs SQL with bound values and
//! returns rows. Everything above this module is written once; the SQL it sends is the dialect
//! SQLite and PostgreSQL share (`$N` parameters, `INSERT ... ON CONFLICT ... DO UPDATE`,
//! `RETURNING`, window functions). What differs lives here: connecting, the migrations, how a
//! writing transaction begins.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Arguments as _, AssertSqlSafe, ConnectOptions, Connection, Row as _, SqlSafeStr};

/// The numbered migrations, in order. Each dialect has the same versions with the same meaning.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "knowledge_cmms",
        include_str!("../migrations/sqlite/0002_knowledge_cmms.sql"),
    ),
    (
        3,
        "findings_by_address",
        include_str!("../migrations/sqlite/0003_findings_by_address.sql"),
    ),
    (
        4,
        "findings_one_index",
        include_str!("../migrations/sqlite/0004_findings_one_index.sql"),
    ),
    (
        5,
        "findings_per_address",
        include_str!("../migrations/sqlite/0005_findings_per_address.sql"),
    ),
    (
        6,
        "communications_one_index",
        include_str!("../migrations/sqlite/0006_communications_one_index.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "knowledge_cmms",
        include_str!("../migrations/postgres/0002_knowledge_cmms.sql"),
    ),
    (
        3,
        "findings_by_address",
        include_str!("../migrations/postgres/0003_findings_by_address.sql"),
    ),
    (
        4,
        "findings_one_index",
        include_str!("../migrations/postgres/0004_findings_one_index.sql"),
    ),
    (
        5,
        "findings_per_address",
        include_str!("../migrations/postgres/0005_findings_per_address.sql"),
    ),
    (
        6,
        "communications_one_index",
        include_str!("../migrations/postgres/0006_communications_one_index.sql"),
    ),
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = 6;

/// Rows per `UNNEST` insert on PostgreSQL: bounds the size of one message.
const PG_ROWS_PER_STATEMENT: usize = 20_000;

/// Rows per multi-row `INSERT` on SQLite. Every full statement has the same text, so it is prepared
/// once per connection and reused from sqlx's statement cache; only the remainder of a call is
/// prepared for that call. Beyond a hundred rows a statement's size hardly matters: the time goes
/// to SQLite's B-trees (measured on gen_big's 73,556 findings: 16 to 1,000 rows per statement
/// within noise, one row per statement 2.5 times slower).
const SQLITE_ROWS_PER_STATEMENT: usize = 256;

/// Most values bound to one statement. SQLite allows 32,766, PostgreSQL 65,535; large statements
/// cost parsing, small ones round trips.
pub(crate) const MAX_PARAMS: usize = 8_000;

/// How long a writer waits for another writer's transaction (SQLite `busy_timeout`).
const SQLITE_BUSY: Duration = Duration::from_secs(60);
/// How long connecting to PostgreSQL may take.
const PG_CONNECT: Duration = Duration::from_secs(20);
/// The advisory lock that serialises writers of one inventory (one schema) on PostgreSQL, with the
/// schema's hash as second key (SQLite has `BEGIN IMMEDIATE`).
const PG_WRITE_LOCK: i32 = 0x6d65_6473; // "meds"

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database is, from what the user gave `--db`.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    pub(crate) fn parse(url: &str) -> Target {
        let lower = url.get(..13).unwrap_or(url).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Target::Postgres(url.to_string());
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        // `sqlite:///abs/path` and `sqlite://rel/path`; options after `?` are not ours to honour.
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        Target::Sqlite(PathBuf::from(path))
    }

    /// The database named for messages: a path, or the URL without its password.
    pub(crate) fn display(&self) -> String {
        match self {
            Target::Sqlite(p) => p.display().to_string(),
            Target::Postgres(u) => redact(u),
        }
    }
}

/// A PostgreSQL URL without its password (in the authority or as a `password=` parameter).
pub(crate) fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority_end, _) = rest
        .char_indices()
        .find(|(_, c)| *c == '/' || *c == '?')
        .unwrap_or((rest.len(), ' '));
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| {
                    !kv.to_ascii_lowercase().starts_with("password=")
                        && !kv.to_ascii_lowercase().starts_with("sslpassword=")
                })
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    if scheme.is_empty() {
        format!("{authority}{tail}")
    } else {
        format!("{scheme}://{authority}{tail}")
    }
}

/// A value bound to a statement. Integers are 64-bit everywhere (`BIGINT` on PostgreSQL).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    I(i64),
    OI(Option<i64>),
    F(f64),
    T(&'a str),
    OT(Option<&'a str>),
}

/// A row from either back-end.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Pg(PgRow),
}

macro_rules! get {
    ($self:expr, $i:expr, $t:ty) => {
        match $self {
            Row::Sqlite(r) => r.try_get::<$t, usize>($i),
            Row::Pg(r) => r.try_get::<$t, usize>($i),
        }
    };
}

impl Row {
    pub(crate) fn i64(&self, i: usize) -> Result<i64, sqlx::Error> {
        get!(self, i, i64)
    }
    pub(crate) fn opt_i64(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        get!(self, i, Option<i64>)
    }
    pub(crate) fn f64(&self, i: usize) -> Result<f64, sqlx::Error> {
        get!(self, i, f64)
    }
    pub(crate) fn text(&self, i: usize) -> Result<String, sqlx::Error> {
        get!(self, i, String)
    }
    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>, sqlx::Error> {
        get!(self, i, Option<String>)
    }
}

/// Whether SQLite said the database is locked (`SQLITE_BUSY`, extended codes included).
fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

/// Whether the SQLite file has every migration of `migrator` applied, with the same checksums, and no
/// other: then opening it takes no lock (a reader never waits for a writer). A plain read; anything
/// else, a new file included, goes to the migrator under the write lock, which also says what is wrong.
async fn sqlite_current(c: &mut SqliteConnection, migrator: &Migrator) -> bool {
    let applied: Result<Vec<(i64, Vec<u8>, bool)>, _> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *c)
            .await;
    let Ok(applied) = applied else {
        return false;
    };
    applied.len() == migrator.iter().count()
        && applied
            .iter()
            .zip(migrator.iter())
            .all(|((version, checksum, success), m)| {
                *success && *version == m.version && checksum.as_slice() == &*m.checksum
            })
}

/// Binds `args` in order to a PostgreSQL statement, which encodes a `&str` without a copy of its own.
fn pg_bind<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    args: &'q [Val<'q>],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for a in args {
        q = match *a {
            Val::I(v) => q.bind(v),
            Val::OI(v) => q.bind(v),
            Val::F(v) => q.bind(v),
            Val::T(v) => q.bind(v),
            Val::OT(v) => q.bind(v),
        };
    }
    q
}

/// What a SQLite text value is bound as: sqlx copies every one into an `Arc`, and from a `&str` it
/// makes a `String` first (two allocations per value, where an `Arc<str>` made here is one).
fn sqlite_text(v: &str) -> Arc<str> {
    Arc::from(v)
}

/// The values of one SQLite statement in a buffer made the right size once: bound one by one into an
/// empty one, a 256-row insert's 3,584 values regrow it a dozen times (on gen_big, an eighth of the
/// saving thread's instructions went to copying the buffer as it grew).
fn sqlite_args(args: &[Val<'_>]) -> Result<SqliteArguments, sqlx::Error> {
    let mut out = SqliteArguments::default();
    out.reserve(args.len(), 0);
    for a in args {
        match *a {
            Val::I(v) => out.add(v),
            Val::OI(v) => out.add(v),
            Val::F(v) => out.add(v),
            Val::T(v) => out.add(sqlite_text(v)),
            Val::OT(v) => out.add(v.map(sqlite_text)),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}

pub(crate) enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl Conn {
    pub(crate) async fn connect(target: &Target) -> Result<Conn, String> {
        match target {
            Target::Sqlite(path) => {
                let opts = sqlite_options(path);
                let started = std::time::Instant::now();
                let mut pause = Duration::from_millis(10);
                loop {
                    match opts.connect().await {
                        Ok(c) => return Ok(Conn::Sqlite(c)),
                        // A new file's switch to WAL needs the file to itself, and SQLite does not
                        // wait for that (no busy handler): a process opening the same new file at
                        // that moment is told "database is locked". It tries again, within the
                        // busy timeout.
                        Err(e) if is_busy(&e) && started.elapsed() < SQLITE_BUSY => {
                            tokio::time::sleep(pause).await;
                            pause = (pause * 2).min(Duration::from_millis(250));
                        }
                        Err(e) => return Err(sql_error(&e)),
                    }
                }
            }
            Target::Postgres(url) => {
                let opts = PgConnectOptions::from_str(url)
                    .map_err(|e| format!("not a usable PostgreSQL URL: {}", one_line(&e)))?
                    .application_name("medsentry");
                match tokio::time::timeout(PG_CONNECT, opts.connect()).await {
                    Ok(Ok(c)) => Ok(Conn::Pg(c)),
                    Ok(Err(e)) => Err(sql_error(&e)),
                    Err(_) => Err(format!(
                        "no answer within {} s (is PostgreSQL running there?)",
                        PG_CONNECT.as_secs()
                    )),
                }
            }
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Pg(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations this database lacks, each in its own transaction: on PostgreSQL under
    /// sqlx's advisory lock, on SQLite inside one writing transaction of ours, so two processes
    /// opening a fresh database do not race.
    pub(crate) async fn migrate(&mut self) -> Result<(), sqlx::migrate::MigrateError> {
        let list = match self {
            Conn::Sqlite(_) => SQLITE_MIGRATIONS,
            Conn::Pg(_) => POSTGRES_MIGRATIONS,
        };
        let migrations = list
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        let migrator = Migrator::with_migrations(migrations);
        match self {
            Conn::Sqlite(c) => {
                if sqlite_current(c, &migrator).await {
                    return Ok(());
                }
                // sqlx takes no lock for SQLite migrations (it does on PostgreSQL): two processes
                // opening a new file at once both applied migration 2 and the second failed. One
                // writing transaction around the run serialises them: the second waits, then finds
                // them applied. The migrator's own transactions become savepoints inside it.
                let mut tx = c.begin_with("BEGIN IMMEDIATE").await?;
                migrator.run(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }
            Conn::Pg(c) => migrator.run(&mut *c).await,
        }
    }

    /// Starts a writing transaction, waiting for any other writer to finish. Readers never wait.
    pub(crate) async fn begin_write(&mut self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Sqlite(c) => {
                sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *c).await?;
            }
            Conn::Pg(c) => {
                sqlx::raw_sql("BEGIN").execute(&mut *c).await?;
                let lock =
                    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))")
                        .bind(PG_WRITE_LOCK)
                        .execute(&mut *c)
                        .await;
                if let Err(e) = lock {
                    self.rollback().await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn commit(&mut self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Sqlite(c) => sqlx::raw_sql("COMMIT").execute(&mut *c).await.map(drop),
            Conn::Pg(c) => sqlx::raw_sql("COMMIT").execute(&mut *c).await.map(drop),
        }
    }

    /// Best effort: the error that made us roll back is the one worth reporting.
    pub(crate) async fn rollback(&mut self) {
        let _ = match self {
            Conn::Sqlite(c) => sqlx::raw_sql("ROLLBACK").execute(&mut *c).await.map(drop),
            Conn::Pg(c) => sqlx::raw_sql("ROLLBACK").execute(&mut *c).await.map(drop),
        };
    }

    /// Runs one statement, prepared once per connection; returns the rows it changed.
    pub(crate) async fn execute(
        &mut self,
        sql: impl SqlSafeStr,
        args: &[Val<'_>],
    ) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Conn::Sqlite(c) => sqlx::query_with(sql, sqlite_args(args)?)
                .execute(&mut *c)
                .await?
                .rows_affected(),
            Conn::Pg(c) => pg_bind(sqlx::query(sql), args)
                .execute(&mut *c)
                .await?
                .rows_affected(),
        })
    }

    /// How many rows of `cols` values [`Conn::insert_rows`] sends in one statement: callers that
    /// build their values in parts make each part a multiple of this.
    pub(crate) fn rows_per_statement(&self, cols: usize) -> usize {
        match self {
            Conn::Sqlite(_) => (MAX_PARAMS / cols).clamp(1, SQLITE_ROWS_PER_STATEMENT),
            Conn::Pg(_) => PG_ROWS_PER_STATEMENT,
        }
    }

    /// `<head> VALUES ... <tail>` for `vals`, `cols` values a row, in few statements. SQLite: a
    /// multi-row `VALUES` of [`Conn::rows_per_statement`] rows, the same prepared statement each
    /// time, and what is left in statements of a quarter of that, a sixteenth ... one row, each
    /// prepared once per connection too (preparing a statement of a few thousand parameters costs
    /// as much as running it: a statement of the exact remainder, prepared anew every call, was an
    /// eighth of the database thread's work). PostgreSQL: one array per column through `UNNEST`,
    /// one prepared statement whatever the number of rows.
    pub(crate) async fn insert_rows(
        &mut self,
        head: &str,
        tail: &str,
        cols: usize,
        vals: &[Val<'_>],
    ) -> Result<(), sqlx::Error> {
        debug_assert_eq!(vals.len() % cols, 0);
        if vals.is_empty() {
            return Ok(());
        }
        let per = self.rows_per_statement(cols);
        if let Conn::Pg(c) = self {
            for chunk in vals.chunks(per * cols) {
                pg_unnest(c, head, tail, cols, chunk).await?;
            }
            return Ok(());
        }
        let mut rest = vals;
        let mut rows = per;
        while !rest.is_empty() {
            let n = rest.len() / cols / rows * rows;
            if n > 0 {
                // The statement's text, built once per size and call: sqlx finds the prepared
                // statement by it.
                let sql: Arc<str> =
                    format!("{head} VALUES {} {tail}", self.values_list(rows, cols)).into();
                let (these, after) = rest.split_at(n * cols);
                for chunk in these.chunks(rows * cols) {
                    self.execute(AssertSqlSafe(Arc::clone(&sql)), chunk).await?;
                }
                rest = after;
            }
            rows = (rows / 4).max(1);
        }
        Ok(())
    }

    pub(crate) async fn fetch(
        &mut self,
        sql: impl SqlSafeStr,
        args: &[Val<'_>],
    ) -> Result<Vec<Row>, sqlx::Error> {
        Ok(match self {
            Conn::Sqlite(c) => sqlx::query_with(sql, sqlite_args(args)?)
                .fetch_all(&mut *c)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Conn::Pg(c) => pg_bind(sqlx::query(sql), args)
                .fetch_all(&mut *c)
                .await?
                .into_iter()
                .map(Row::Pg)
                .collect(),
        })
    }

    /// Refreshes the planner's statistics after a large write, so that the first queries after an
    /// import already use the indexes (PostgreSQL would otherwise wait for autovacuum).
    pub(crate) async fn analyze(&mut self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Sqlite(c) => sqlx::raw_sql("PRAGMA optimize")
                .execute(&mut *c)
                .await
                .map(drop),
            Conn::Pg(c) => sqlx::raw_sql(
                "ANALYZE devices, device_addresses, device_fields, evidence, communications, \
                 run_addresses",
            )
            .execute(&mut *c)
            .await
            .map(drop),
        }
    }

    pub(crate) async fn close(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Sqlite(c) => c.close().await,
            Conn::Pg(c) => c.close().await,
        }
    }
}

/// `INSERT ... SELECT * FROM UNNEST($1::text[], $2::int8[], ...)`: each column's values as one array
/// (the first row's values say the column types).
async fn pg_unnest(
    c: &mut PgConnection,
    head: &str,
    tail: &str,
    cols: usize,
    chunk: &[Val<'_>],
) -> Result<(), sqlx::Error> {
    let rows = chunk.len() / cols;
    let cell = |r: usize, col: usize| chunk[r * cols + col];
    let casts: Vec<String> = (0..cols)
        .map(|col| {
            let t = match cell(0, col) {
                Val::T(_) | Val::OT(_) => "text",
                Val::I(_) | Val::OI(_) => "int8",
                Val::F(_) => "float8",
            };
            format!("${}::{t}[]", col + 1)
        })
        .collect();
    let sql = format!(
        "{head} SELECT * FROM UNNEST({}) AS u {tail}",
        casts.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for col in 0..cols {
        q = match cell(0, col) {
            Val::T(_) | Val::OT(_) => q.bind(
                (0..rows)
                    .map(|r| match cell(r, col) {
                        Val::T(v) => Some(v),
                        Val::OT(v) => v,
                        _ => None,
                    })
                    .collect::<Vec<Option<&str>>>(),
            ),
            Val::I(_) | Val::OI(_) => q.bind(
                (0..rows)
                    .map(|r| match cell(r, col) {
                        Val::I(v) => Some(v),
                        Val::OI(v) => v,
                        _ => None,
                    })
                    .collect::<Vec<Option<i64>>>(),
            ),
            Val::F(_) => q.bind(
                (0..rows)
                    .map(|r| match cell(r, col) {
                        Val::F(v) => Some(v),
                        _ => None,
                    })
                    .collect::<Vec<Option<f64>>>(),
            ),
        };
    }
    q.execute(&mut *c).await?;
    Ok(())
}

/// SQLite settings. WAL: readers (`inventory list` while an analysis writes) never block the
/// writer nor see half a transaction. `synchronous = FULL`: in WAL mode NORMAL survives a killed
/// process but may lose the last commits on power loss or an OS crash; FULL syncs the WAL at every
/// commit, which costs one fsync per transaction (a few hundred for 100,000 devices), so nothing
/// reported committed is ever lost.
fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY)
        // 64 MiB of page cache: merging a large batch touches many index pages.
        .pragma("cache_size", "-65536")
        .pragma("temp_store", "memory")
        // sqlx reads SQLite on a worker thread and hands rows over a channel: a deeper channel
        // means fewer hand-overs between threads for a page of devices or a batch's stored fields.
        .row_buffer_size(4096)
}

/// What the database said, without sqlx's "error returned from database" wrapping, on one line.
pub(crate) fn sql_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => one_line(&d.message()),
        other => one_line(other),
    }
}

/// Errors on one line: PostgreSQL's can carry a detail line.
pub(crate) fn one_line(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Conn {
    /// `($1, $2, ...), (...)`: `rows` tuples of `cols` placeholders, numbered from `$1`. SQLite gets
    /// anonymous `?`: it resolves `$N` names by linear search, quadratic in a statement's values.
    pub(crate) fn values_list(&self, rows: usize, cols: usize) -> String {
        values_list(rows, cols, self.backend() == Backend::Sqlite)
    }

    /// `n` placeholders numbered from `$1`, comma-separated, for an `IN (...)` list.
    pub(crate) fn placeholders(&self, n: usize) -> String {
        placeholders(n, self.backend() == Backend::Sqlite)
    }
}

fn values_list(rows: usize, cols: usize, anonymous: bool) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    let mut n = 1;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            if anonymous {
                s.push('?');
            } else {
                s.push('$');
                s.push_str(&n.to_string());
            }
            n += 1;
        }
        s.push(')');
    }
    s
}

fn placeholders(n: usize, anonymous: bool) -> String {
    (1..=n)
        .map(|i| {
            if anonymous {
                "?".to_string()
            } else {
                format!("${i}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row count reaches the table once, whatever mix of statement sizes it takes (full
    /// statements, then a quarter, a sixteenth ... one row).
    #[test]
    fn insert_rows_writes_every_row_once() {
        let scratch = testkit::Scratch::new("store-insert-rows");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let target = Target::Sqlite(scratch.path("rows.db"));
            let mut c = Conn::connect(&target).await.unwrap();
            c.execute("CREATE TABLE t (n INTEGER, v TEXT)", &[])
                .await
                .unwrap();
            let per = c.rows_per_statement(2);
            for n in [1, 3, 4, 5, per - 1, per, per + 1, 2 * per + per / 4 + 7] {
                c.execute("DELETE FROM t", &[]).await.unwrap();
                let text: Vec<String> = (0..n).map(|i| format!("row {i}")).collect();
                let vals: Vec<Val<'_>> = text
                    .iter()
                    .enumerate()
                    .flat_map(|(i, t)| [Val::I(i as i64), Val::T(t)])
                    .collect();
                c.insert_rows("INSERT INTO t (n, v)", "", 2, &vals)
                    .await
                    .unwrap();
                let rows = c
                    .fetch("SELECT count(DISTINCT n), min(n), max(n) FROM t", &[])
                    .await
                    .unwrap();
                let r = &rows[0];
                assert_eq!(
                    (r.i64(0).unwrap(), r.i64(1).unwrap(), r.i64(2).unwrap()),
                    (n as i64, 0, n as i64 - 1),
                    "{n} rows"
                );
                let all = c.fetch("SELECT count(*) FROM t", &[]).await.unwrap();
                assert_eq!(all[0].i64(0).unwrap(), n as i64);
            }
            c.close().await.unwrap();
        });
    }

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redact("postgres://medsentry:s3cret@db.example:5432/inv?sslmode=prefer"),
            "postgres://medsentry@db.example:5432/inv?sslmode=prefer"
        );
        assert_eq!(
            redact("postgresql://u@h/db?password=x&application_name=a"),
            "postgresql://u@h/db?application_name=a"
        );
        assert_eq!(
            redact("postgres://u:p@h/db?password=x"),
            "postgres://u@h/db"
        );
        assert_eq!(redact("postgres://h"), "postgres://h");
        // An `@` in a password is percent-encoded, so the last `@` ends the user information.
        assert_eq!(redact("postgres://u:p@h@x/db"), "postgres://u@x/db");
    }

    #[test]
    fn targets() {
        assert!(matches!(
            Target::parse("POSTGRES://h/db"),
            Target::Postgres(_)
        ));
        assert!(matches!(
            Target::parse("postgresql://h/db"),
            Target::Postgres(_)
        ));
        let Target::Sqlite(p) = Target::parse("sqlite:///var/lib/m.db?mode=rwc") else {
            panic!()
        };
        assert_eq!(p, PathBuf::from("/var/lib/m.db"));
        let Target::Sqlite(p) = Target::parse("./medsentry.db") else {
            panic!()
        };
        assert_eq!(p, PathBuf::from("./medsentry.db"));
    }

    #[test]
    fn placeholder_lists() {
        assert_eq!(values_list(2, 2, false), "($1, $2), ($3, $4)");
        assert_eq!(values_list(1, 2, true), "(?, ?)");
        assert_eq!(placeholders(2, false), "$1, $2");
        assert_eq!(placeholders(2, true), "?, ?");
    }
}
