-- The bench's tables, PostgreSQL edition: the source tables in `src`, and the empty COPY
-- destinations in `dst` (created in the schema the search_path names).
create table orders (
  id bigint primary key, customer_id integer, status varchar(20), amount numeric(12,2),
  quantity integer, created_at timestamptz, updated_at timestamptz, note text, paid boolean,
  attributes jsonb
);
-- The same columns; `attributes` holds an array of line items, to be de-nested.
create table orders_nested (like orders including all);
