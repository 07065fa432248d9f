//! `billing-center bench settlement|ingest`: the benchmarks of `backend::bench` on a throwaway
//! database of the configured kind (a SQLite file beside the configured one, or a new PostgreSQL
//! database on the configured server), created here and dropped afterwards, whatever happened.

use sqlx::{Connection, Executor};

use crate::config::Config;

/// A database made for one benchmark run.
pub struct Throwaway {
    pub url: String,
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
            let (base, query) = match url.split_once('?') {
                Some((base, query)) => (base, Some(query)),
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
                drop: Dropping::Files(files),
            })
        }
    }

    pub async fn drop(self) {
        match self.drop {
            Dropping::Files(files) => {
                for file in files {
                    std::fs::remove_file(file).ok();
                }
            }
            Dropping::Database { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await
                        .ok();
                }
            }
        }
    }
}
