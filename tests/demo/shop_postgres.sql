-- The demo's "shop", PostgreSQL edition. Loaded into a fresh `shop` database.
create table customers (
  id integer primary key, "Full Name" text not null, email text, "2fa enabled" boolean not null default false,
  country char(2), updated_at timestamptz not null default now()
);
create table products (
  sku text primary key, title text not null, price numeric(10,2) not null, weight_kg double precision,
  tags text[], updated_at timestamptz not null default now()
);
create table orders (
  id bigint primary key, customer_id integer not null references customers, status text not null,
  total numeric(12,2) not null, ordered_at timestamptz not null default now(), attributes jsonb,
  updated_at timestamptz not null default now()
);
create table page_views (url text, viewed_at timestamp, seconds integer);
create view paid_orders as select id, customer_id, total from orders where status = 'paid';

insert into customers (id, "Full Name", email, "2fa enabled", country, updated_at) values
  (1, 'Ada Lovelace', 'ada@example.com', true, 'GB', now() - interval '4 s'),
  (2, 'Grace Hopper', 'grace@example.com', false, 'US', now() - interval '3 s'),
  (3, 'Émile Zola', null, false, 'FR', now() - interval '2 s'),
  (4, '李小龍', 'bruce@example.com', true, 'HK', now() - interval '1 s');
insert into products (sku, title, price, weight_kg, tags) values
  ('TEA-1', 'Green tea', 4.50, 0.1, '{new,eco}'), ('MUG-2', 'Mug "Singer"', 12.00, 0.35, '{sale}'),
  ('PEN-3', 'Fountain pen', 89.99, 0.02, '{}');
insert into orders (id, customer_id, status, total, updated_at, attributes)
  select g, 1 + g % 4, (array['new', 'paid', 'shipped'])[1 + g % 3], 10 + (g % 97) * 1.25,
         now() - (2000 - g) * interval '1 second',
         jsonb_build_object('channel', case when g % 2 = 1 then 'web' else 'store' end,
                            'shipping', jsonb_build_object('carrier', 'DHL', 'express', g % 5 = 0),
                            'items', jsonb_build_array(jsonb_build_object('sku', 'TEA-1', 'qty', 1 + g % 3),
                                                       jsonb_build_object('sku', 'MUG-2', 'qty', 1)))
  from generate_series(1, 2000) g;
insert into page_views select '/products/' || g % 7, now(), g % 60 from generate_series(1, 500) g;
