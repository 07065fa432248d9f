//! `billing-center bench settlement|ingest`: the benchmarks of `backend::bench` on a throwaway
//! database of the configured kind (a SQLite file beside the configured one, or a new PostgreSQL
//! database on the configured server), created here and dropped afterwards, whatever happened.

use sqlx::{Connection, Executor};

use crate::config::Config;

/// A database made for one benchmark run.
pub struct Throwaway {
    pub url: String,
    /// The database's name (PostgreSQL) or file (SQLite), for messages.
    pub name: String,
    drop: Dropping,
}

enum Dropping {
    Files(Vec<std::path::PathBuf>),
    Database { admin_url: String, name: String },
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}_{nanos}", std::process::id())
}

impl Throwaway {
    pub async fn create(config: &Config) -> Result<Throwaway, String> {
        let url = &config.database_url;
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let name = format!("billing_bench_{}", unique());
            let mut admin = sqlx::PgConnection::connect(url)
                .await
                .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
            admin
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .map_err(|e| format!("cannot create the benchmark database: {e}"))?;
            admin.close().await.ok();
            // A `dbname=` in the query would name the database instead of the path: left out, so
            // the benchmark can only reach the database made for it.
            let (base, query) = match url.split_once('?') {
                Some((base, query)) => {
                    let kept: Vec<&str> = query
                        .split('&')
                        .filter(|pair| {
                            let name = pair.split('=').next().unwrap_or_default();
                            !name.eq_ignore_ascii_case("dbname") && !pair.is_empty()
                        })
                        .collect();
                    (base, (!kept.is_empty()).then(|| kept.join("&")))
                }
                None => (url.as_str(), None),
            };
            let server = match base.rfind('/') {
                Some(slash) if slash > base.find("://").map_or(0, |s| s + 2) => &base[..slash],
                _ => base,
            };
            let bench_url = match query {
                Some(query) => format!("{server}/{name}?{query}"),
                None => format!("{server}/{name}"),
            };
            Ok(Throwaway {
                url: bench_url,
                name: name.clone(),
                drop: Dropping::Database {
                    admin_url: url.clone(),
                    name,
                },
            })
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url)
                .split('?')
                .next()
                .unwrap_or_default();
            let dir = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map(std::path::Path::to_path_buf)
                .unwrap_or_else(|| std::path::PathBuf::from("."));
            let file = dir.join(format!("billing-bench-{}.db", unique()));
            let files = ["", "-wal", "-shm"]
                .iter()
                .map(|suffix| std::path::PathBuf::from(format!("{}{suffix}", file.display())))
                .collect();
            Ok(Throwaway {
                url: format!("sqlite://{}", file.display()),
                name: file.display().to_string(),
                drop: Dropping::Files(files),
            })
        }
    }

    /// Removes the database; says so on stderr when it cannot, naming what is left behind.
    pub async fn drop(self) {
        match self.drop {
            Dropping::Files(files) => {
                for file in files {
                    if let Err(e) = std::fs::remove_file(&file)
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        eprintln!("warning: cannot remove {}: {e}", file.display());
                    }
                }
            }
            Dropping::Database { admin_url, name } => {
                let dropped = match sqlx::PgConnection::connect(&admin_url).await {
                    Ok(mut admin) => admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                };
                if let Err(e) = dropped {
                    eprintln!(
                        "warning: cannot drop the benchmark database {name}: {e}; drop it by hand"
                    );
                }
            }
        }
    }
}
