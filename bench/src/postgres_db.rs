//! The purge's three systems as PostgreSQL databases. Each is generated once into a
//! template database (`COPY`, one transaction) and cloned for every run with
//! `CREATE DATABASE … TEMPLATE`, a file copy on the server.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use postgres::{Client, NoTls};

use crate::people::Clock;
use crate::systems::{self, Population, System};

/// A connection to the server given on the command line (a superuser).
pub struct Server {
    url: String,
}

impl Server {
    pub fn new(url: &str) -> Server {
        Server {
            url: url.to_owned(),
        }
    }

    fn admin(&self) -> Result<Client> {
        Client::connect(&self.url, NoTls)
            .with_context(|| format!("connecting to PostgreSQL at {} (is it running?)", self.url))
    }

    /// The URL of database `name` on the same server.
    pub fn url_of(&self, name: &str) -> String {
        match self.url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => format!("{}/{name}", self.url),
        }
    }

    pub fn connect(&self, name: &str) -> Result<Client> {
        Client::connect(&self.url_of(name), NoTls)
            .with_context(|| format!("connecting to database {name}"))
    }

    /// A new empty database `name` (dropped first if a previous run left it).
    pub fn create_empty(&self, name: &str) -> Result<()> {
        let mut admin = self.admin()?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(())
    }

    pub fn drop_database(&self, name: &str) -> Result<()> {
        let mut admin = self.admin()?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        Ok(())
    }

    /// Creates the template database of `system` with `population`'s rows.
    pub fn create_template(&self, system: System, population: Population) -> Result<()> {
        let template = template_name(system);
        let mut admin = self.admin()?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {template} WITH (FORCE)"))?;
        admin.batch_execute(&format!("CREATE DATABASE {template}"))?;
        let mut db = self.connect(&template)?;
        db.batch_execute(&systems::schema(system))?;
        let clock = Clock::now();
        let (mut subjects, mut children) = (String::new(), String::new());
        systems::rows(
            system,
            population,
            &clock,
            |values| {
                csv_line(&mut subjects, values);
                Ok(())
            },
            |values| {
                csv_line(&mut children, values);
                Ok(())
            },
        )?;
        let mut tx = db.transaction()?;
        for (table, data) in [(system.subjects, subjects), (system.children, children)] {
            let mut writer = tx.copy_in(&format!("COPY {table} FROM STDIN (FORMAT csv)"))?;
            writer.write_all(data.as_bytes())?;
            writer.finish()?;
        }
        tx.commit()?;
        db.batch_execute(&systems::indexes(system))?;
        db.batch_execute("VACUUM ANALYZE")?;
        Ok(())
    }

    /// A fresh copy of the template, as database `gallra_bench_<system>`.
    pub fn clone_fresh(&self, system: System) -> Result<String> {
        let name = format!("gallra_bench_{}", system.name);
        let template = template_name(system);
        let mut admin = self.admin()?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))?;
        Ok(name)
    }

    pub fn drop_all(&self, systems: &[System]) -> Result<()> {
        let mut admin = self.admin()?;
        for system in systems {
            admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS gallra_bench_{} WITH (FORCE)",
                system.name
            ))?;
            admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                template_name(*system)
            ))?;
        }
        Ok(())
    }

    /// Row count and id sum of the system's two tables.
    pub fn fingerprint(&self, database: &str, system: System) -> Result<[(i64, i64); 2]> {
        let mut db = self.connect(database)?;
        let mut out = [(0, 0); 2];
        for (slot, table) in out.iter_mut().zip([system.subjects, system.children]) {
            let row = db.query_one(
                &format!("SELECT count(*), coalesce(sum(id), 0)::bigint FROM {table}"),
                &[],
            )?;
            *slot = (row.get(0), row.get(1));
        }
        Ok(out)
    }

    /// The floor: the same rows deleted by id in one transaction, two statements.
    pub fn floor_delete(&self, database: &str, system: System, ids: &[i64]) -> Result<u64> {
        let mut db = self.connect(database)?;
        let ids: Vec<i32> = ids
            .iter()
            .map(|&i| i32::try_from(i))
            .collect::<Result<_, _>>()?;
        let mut tx = db.transaction()?;
        let children = tx.execute(
            &format!(
                "DELETE FROM {} WHERE {} = ANY($1)",
                system.children, system.foreign_key
            ),
            &[&ids],
        )?;
        let subjects = tx.execute(
            &format!("DELETE FROM {} WHERE id = ANY($1)", system.subjects),
            &[&ids],
        )?;
        tx.commit()?;
        Ok(children + subjects)
    }
}

/// Writes the URL of `database` to `path`, mode 0600 (gallra refuses a readable one).
pub fn write_url_file(path: &Path, url: &str) -> Result<()> {
    crate::config::secret(path, url)
}

fn template_name(system: System) -> String {
    format!("gallra_bench_tpl_{}", system.name)
}

fn csv_line(out: &mut String, values: &[&dyn systems::ToText]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if let Some(text) = v.to_text() {
            let _ = write!(out, "\"{}\"", text.replace('"', "\"\""));
        }
    }
    out.push('\n');
}
