-- The bench's source data in PostgreSQL (`psql -v rows=N`). tests/bench/data_mariadb.sql makes
-- the same values in MariaDB: change both together.
\ir tables_postgres.sql

insert into orders
select g, 1 + (g * 7919) % 50000, (array['new', 'paid', 'shipped', 'cancelled', 'returned'])[1 + g % 5],
       (g * 104729) % 10000000 / 100.0, 1 + g % 9, created, created + (g % 86400) * interval '1 s',
       case when g % 20 = 0 then null
            when g % 97 = 0 then E'two\nlines,\ttab, back\\slash, "quotes", ünïcödé ✓'
            else 'order ' || g || ': ' || (array['leave at the door', 'call first', 'gift wrap please',
                                                 'fragile', 'no rush'])[1 + g % 5] end,
       g % 3 <> 0,
       jsonb_build_object('channel', (array['web', 'store', 'app'])[1 + g % 3], 'gift', g % 7 = 0,
                          'address', jsonb_build_object(
                            'city', (array['Berlin', 'München', 'Zürich', 'São Paulo', 'Kraków', '東京'])[1 + g % 6],
                            'zip', lpad(((g * 31) % 100000)::text, 5, '0')))
from generate_series(1::bigint, :rows) g,
     lateral (select timestamptz '2024-01-01 00:00:00+00' + g * interval '17 s'
                     + (g * 389) % 1000000 * interval '1 microsecond' as created) c;

-- 1 to 3 line items an order (when the nested cases run: `psql -v nested=true`).
\if :nested
insert into orders_nested
select id, customer_id, status, amount, quantity, created_at, updated_at, note, paid,
       jsonb_build_object('channel', attributes->'channel', 'items',
         (select jsonb_agg(jsonb_build_object('sku', 'SKU-' || lpad(((id * 13 + i) % 500)::text, 3, '0'),
                                              'qty', 1 + (id + i) % 4,
                                              'price', round((id * 7 + i * 131) % 10000 / 100.0 + 0.99, 2)))
          from generate_series(1, 1 + id % 3) i))
from orders;
\endif

-- What an incremental sync on updated_at expects to find.
create index on orders (updated_at);
create index on orders_nested (updated_at);
analyze;
