//! Which upstream columns each output column of a query is computed from:
//! CTEs, derived tables, aliases, joins, `select *` and `t.*`, unions, and
//! expressions of any shape (every column they mention counts).

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgOperator, FunctionArguments, ObjectName, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, TableFactor, TableWithJoins, visit_expressions,
};

/// The upstream columns an output column comes from: (node index, column).
pub type Sources = BTreeSet<(usize, String)>;

/// A relation as a query sees it: named columns with their sources, or, for
/// a node whose columns the catalog does not know, any column of that node.
#[derive(Debug, Clone, Default)]
pub struct Relation {
    /// The columns, in order, lower-cased, with their sources; an unnamed
    /// expression has an empty name (it keeps its position for unions).
    pub columns: Vec<(String, Sources)>,
    /// The node whose columns are unknown: any column resolves to it.
    pub open: Option<usize>,
}

/// What the walker needs from the catalog: the relation of a table name.
pub trait Tables {
    /// The relation that `name` (a table in FROM) refers to, if it is a
    /// catalog entry.
    fn table(&self, name: &[String]) -> Option<Relation>;
}

/// Why a query's lineage could not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// Nested deeper than the walker goes.
    TooDeep,
    /// A statement that is not a query.
    NotAQuery,
}

/// How deep CTEs, subqueries and set operations may nest.
const MAX_DEPTH: usize = 64;

/// An identifier's value, lower-cased (comparisons ignore case).
fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0.iter().filter_map(|p| p.as_ident()).map(|i| lower(&i.value)).collect()
}

/// The walker: the CTEs in scope (innermost last) and the catalog.
pub struct Walker<'a, T: Tables> {
    tables: &'a T,
    ctes: Vec<(String, Relation)>,
}

impl<'a, T: Tables> Walker<'a, T> {
    /// A walker over `tables`.
    pub fn new(tables: &'a T) -> Self {
        Walker { tables, ctes: Vec::new() }
    }

    /// The output columns of `query` with their sources.
    pub fn query(&mut self, query: &Query, depth: usize) -> Result<Relation, Unsupported> {
        if depth > MAX_DEPTH {
            return Err(Unsupported::TooDeep);
        }
        let outer = self.ctes.len();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let mut relation = self.query(&cte.query, depth + 1)?;
                for (i, column) in cte.alias.columns.iter().enumerate() {
                    if let Some(slot) = relation.columns.get_mut(i) {
                        slot.0 = lower(&column.name.value);
                    }
                }
                self.ctes.push((lower(&cte.alias.name.value), relation));
            }
        }
        let result = self.set_expr(&query.body, depth + 1);
        self.ctes.truncate(outer);
        result
    }

    fn set_expr(&mut self, body: &SetExpr, depth: usize) -> Result<Relation, Unsupported> {
        if depth > MAX_DEPTH {
            return Err(Unsupported::TooDeep);
        }
        match body {
            SetExpr::Select(select) => self.select(select, depth),
            SetExpr::Query(query) => self.query(query, depth + 1),
            SetExpr::SetOperation { .. } => {
                // A chain of unions nests to the left, one level per branch:
                // walk it in a loop, so that a hundred branches are not deep.
                let mut branches = Vec::new();
                let mut current = body;
                while let SetExpr::SetOperation { left, right, .. } = current {
                    branches.push(right.as_ref());
                    current = left;
                }
                let mut output = self.set_expr(current, depth + 1)?;
                for branch in branches.into_iter().rev() {
                    let next = self.set_expr(branch, depth + 1)?;
                    for (slot, (_, sources)) in output.columns.iter_mut().zip(next.columns) {
                        slot.1.extend(sources);
                    }
                }
                Ok(Relation { columns: output.columns, open: None })
            }
            SetExpr::Values(values) => {
                let width = values.rows.first().map_or(0, |row| row.content.len());
                Ok(Relation { columns: vec![(String::new(), Sources::new()); width], open: None })
            }
            _ => Err(Unsupported::NotAQuery),
        }
    }

    /// The relation a FROM item names, under the name the query uses for it.
    fn factor(
        &mut self,
        factor: &TableFactor,
        scope: &mut Vec<(String, Relation)>,
        depth: usize,
    ) -> Result<(), Unsupported> {
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let parts = name_parts(name);
                let last = parts.last().cloned().unwrap_or_default();
                let cte = (parts.len() == 1)
                    .then(|| self.ctes.iter().rev().find(|(n, _)| *n == last).map(|(_, r)| r.clone()))
                    .flatten();
                let relation = cte.or_else(|| self.tables.table(&parts)).unwrap_or_default();
                let used = alias.as_ref().map_or(last, |a| lower(&a.name.value));
                scope.push((used, relation));
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let relation = self.query(subquery, depth + 1)?;
                scope.push((alias.as_ref().map_or(String::new(), |a| lower(&a.name.value)), relation));
            }
            TableFactor::NestedJoin { table_with_joins, .. } => self.from(table_with_joins, scope, depth + 1)?,
            _ => scope.push((String::new(), Relation::default())),
        }
        Ok(())
    }

    fn from(
        &mut self,
        from: &TableWithJoins,
        scope: &mut Vec<(String, Relation)>,
        depth: usize,
    ) -> Result<(), Unsupported> {
        if depth > MAX_DEPTH {
            return Err(Unsupported::TooDeep);
        }
        self.factor(&from.relation, scope, depth)?;
        for join in &from.joins {
            self.factor(&join.relation, scope, depth)?;
        }
        Ok(())
    }

    fn select(&mut self, select: &Select, depth: usize) -> Result<Relation, Unsupported> {
        let mut scope = Vec::new();
        for from in &select.from {
            self.from(from, &mut scope, depth + 1)?;
        }
        let mut columns = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::Wildcard(_) => {
                    for (_, relation) in &scope {
                        columns.extend(relation.columns.iter().cloned());
                    }
                }
                SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                    let qualifier = name_parts(name).pop().unwrap_or_default();
                    if let Some((_, relation)) = scope.iter().find(|(n, _)| *n == qualifier) {
                        columns.extend(relation.columns.iter().cloned());
                    }
                }
                SelectItem::QualifiedWildcard(..) => {}
                SelectItem::UnnamedExpr(expr) => {
                    let name = match expr {
                        Expr::Identifier(i) => lower(&i.value),
                        Expr::CompoundIdentifier(parts) => parts.last().map(|i| lower(&i.value)).unwrap_or_default(),
                        _ => String::new(),
                    };
                    columns.push((name, sources(expr, &scope)));
                }
                SelectItem::ExprWithAlias { expr, alias } => columns.push((lower(&alias.value), sources(expr, &scope))),
                SelectItem::ExprWithAliases { expr, aliases } => {
                    let from = sources(expr, &scope);
                    columns.extend(aliases.iter().map(|a| (lower(&a.value), from.clone())));
                }
            }
        }
        Ok(Relation { columns, open: None })
    }
}

/// The sources of column `name` (of relation `qualifier`, when given).
fn resolve(scope: &[(String, Relation)], qualifier: Option<&str>, name: &str) -> Sources {
    let lookup = |r: &Relation| -> Option<Sources> {
        if let Some((_, s)) = r.columns.iter().find(|(n, _)| n == name) {
            return Some(s.clone());
        }
        r.open.map(|node| Sources::from([(node, name.to_string())]))
    };
    match qualifier {
        Some(q) => scope.iter().find(|(n, _)| n == q).and_then(|(_, r)| lookup(r)).unwrap_or_default(),
        None => {
            let named =
                scope.iter().find_map(|(_, r)| r.columns.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone()));
            named
                .or_else(|| {
                    let open: Vec<usize> = scope.iter().filter_map(|(_, r)| r.open).collect();
                    (open.len() == 1).then(|| Sources::from([(open[0], name.to_string())]))
                })
                .unwrap_or_default()
        }
    }
}

/// Every upstream column that `expr` mentions.
fn sources(expr: &Expr, scope: &[(String, Relation)]) -> Sources {
    let mut out = Sources::new();
    let _ = visit_expressions(expr, |e| {
        match e {
            Expr::Identifier(i) => out.extend(resolve(scope, None, &lower(&i.value))),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let name = lower(&parts[parts.len() - 1].value);
                let qualifier = lower(&parts[parts.len() - 2].value);
                out.extend(resolve(scope, Some(&qualifier), &name));
            }
            // DuckDB's dialect reads `f(a = 'x')` as a named argument; in dbt
            // SQL it is a comparison with column `a` far more often.
            Expr::Function(Function { args: FunctionArguments::List(list), .. }) => {
                for arg in &list.args {
                    if let FunctionArg::Named { name, operator: FunctionArgOperator::Equals, .. } = arg {
                        out.extend(resolve(scope, None, &lower(&name.value)));
                    }
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::Statement;
    use sqlparser::dialect::GenericDialect;
    use sqlparser::parser::Parser;

    /// Tables `a` (node 0: id, amount, customer_id), `b` (node 1: id, name)
    /// and `open` (node 2, columns unknown).
    struct Fixture;

    impl Tables for Fixture {
        fn table(&self, name: &[String]) -> Option<Relation> {
            let column = |node: usize, c: &str| (c.to_string(), Sources::from([(node, c.to_string())]));
            match name.last()?.as_str() {
                "a" => Some(Relation {
                    columns: vec![column(0, "id"), column(0, "amount"), column(0, "customer_id")],
                    open: None,
                }),
                "b" => Some(Relation { columns: vec![column(1, "id"), column(1, "name")], open: None }),
                "open" => Some(Relation { columns: vec![], open: Some(2) }),
                _ => None,
            }
        }
    }

    fn lineage(sql: &str) -> Vec<(String, Vec<(usize, String)>)> {
        let statements = Parser::parse_sql(&GenericDialect {}, sql).expect("parses");
        let Statement::Query(q) = &statements[0] else { panic!("a query") };
        let relation = Walker::new(&Fixture).query(q, 0).expect("lineage");
        relation.columns.into_iter().map(|(n, s)| (n, s.into_iter().collect())).collect()
    }

    fn of(node: usize, c: &str) -> (usize, String) {
        (node, c.to_string())
    }

    #[test]
    fn ctes_aliases_and_stars() {
        let out = lineage(
            r#"with src as (select * from "db"."main"."a"), renamed as (select id as order_id, amount * 2 as doubled from src)
               select r.*, 1 as one from renamed r"#,
        );
        assert_eq!(
            out,
            [("order_id".into(), vec![of(0, "id")]), ("doubled".into(), vec![of(0, "amount")]), ("one".into(), vec![])]
        );
    }

    #[test]
    fn joins_qualify_and_unqualified_names_find_their_table() {
        let out = lineage(
            "select a.id, b.name, amount, coalesce(a.customer_id, b.id) as k \
             from a left join b on a.customer_id = b.id",
        );
        assert_eq!(out[0], ("id".into(), vec![of(0, "id")]));
        assert_eq!(out[1], ("name".into(), vec![of(1, "name")]));
        assert_eq!(out[2], ("amount".into(), vec![of(0, "amount")]));
        assert_eq!(out[3], ("k".into(), vec![of(0, "customer_id"), of(1, "id")]));
    }

    #[test]
    fn windows_aggregates_unions_and_derived_tables() {
        let out = lineage(
            "select id, sum(amount) over (partition by customer_id order by id) as running from a \
             union all select x.id, x.name from (select id, name from b) as x",
        );
        assert_eq!(out[0], ("id".into(), vec![of(0, "id"), of(1, "id")]));
        assert_eq!(out[1], ("running".into(), vec![of(0, "amount"), of(0, "customer_id"), of(0, "id"), of(1, "name")]));
    }

    #[test]
    fn duckdb_named_arguments_that_are_comparisons_count() {
        let statements = Parser::parse_sql(
            &sqlparser::dialect::DuckDbDialect {},
            "select coalesce(name = 'x', false) as is_x from b",
        )
        .expect("parses");
        let Statement::Query(q) = &statements[0] else { panic!("a query") };
        let relation = Walker::new(&Fixture).query(q, 0).expect("lineage");
        assert_eq!(relation.columns[0].1, Sources::from([of(1, "name")]));
    }

    #[test]
    fn unknown_columns_of_a_node_still_resolve_and_cte_column_lists_rename() {
        let out = lineage("with t (x, y) as (select id, amount from a) select t.x, total from t, open");
        assert_eq!(out, [("x".into(), vec![of(0, "id")]), ("total".into(), vec![of(2, "total")])]);
    }
}
