//! The connector names the indexes its matches lack, as statements that run as they are and
//! after which nothing is missing (SQLite and PostgreSQL; MySQL and MariaDB are not checked).

use crate::support::{each_backend, Backend};

#[test]
fn missing_match_indexes_are_named_by_statements_that_add_them() {
    each_backend(|fx| {
        let backend = fx.backend;
        let missing = fx.connector().missing_indexes();
        if backend == Backend::Mysql {
            assert_eq!(missing, Vec::<String>::new(), "not checked on MySQL");
            return;
        }
        let wanted = [
            "CREATE INDEX customers_email_match ON customers (lower(trim(email)));",
            "CREATE INDEX customers_personnummer_match ON customers (trim(personnummer));",
            "CREATE INDEX customers_phone_match ON customers (trim(phone));",
        ];
        assert_eq!(missing, wanted, "{backend:?}");
        // An index on the bare column does not serve the match.
        fx.exec("CREATE INDEX customers_email_plain ON customers (email);");
        assert_eq!(fx.connector().missing_indexes().len(), 3, "{backend:?}");
        for statement in &missing {
            fx.exec(statement);
        }
        assert_eq!(
            fx.connector().missing_indexes(),
            Vec::<String>::new(),
            "{backend:?}"
        );
    });
}
