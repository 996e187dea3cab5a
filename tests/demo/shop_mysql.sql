-- The demo's "shop", MariaDB edition. Loaded into a fresh `shop` database.
create table customers (
  id int primary key, `Full Name` varchar(100) not null, email varchar(200),
  `2fa enabled` tinyint(1) not null default 0, country char(2),
  updated_at datetime(6) not null default current_timestamp(6) on update current_timestamp(6)
);
create table products (
  sku varchar(20) primary key, title text not null, price decimal(10,2) not null,
  weight_kg double, tags set('new','sale','eco'), updated_at datetime(6) not null default current_timestamp(6)
);
create table orders (
  id bigint unsigned primary key, customer_id int not null, status enum('new','paid','shipped') not null,
  total decimal(12,2) not null, ordered_at timestamp(6) not null default current_timestamp(6),
  attributes json, updated_at datetime(6) not null default current_timestamp(6) on update current_timestamp(6)
);
-- No key: loaded append-only.
create table page_views (url varchar(200), viewed_at datetime(6), seconds int);
create view paid_orders as select id, customer_id, total from orders where status = 'paid';

insert into customers (id, `Full Name`, email, `2fa enabled`, country, updated_at) values
  (1, 'Ada Lovelace', 'ada@example.com', 1, 'GB', now(6) - interval 4 second),
  (2, 'Grace Hopper', 'grace@example.com', 0, 'US', now(6) - interval 3 second),
  (3, 'Émile Zola', null, 0, 'FR', now(6) - interval 2 second),
  (4, '李小龍', 'bruce@example.com', 1, 'HK', now(6) - interval 1 second);
insert into products (sku, title, price, weight_kg, tags) values
  ('TEA-1', 'Green tea', 4.50, 0.1, 'new,eco'), ('MUG-2', 'Mug "Singer"', 12.00, 0.35, 'sale'),
  ('PEN-3', 'Fountain pen', 89.99, 0.02, '');
insert into orders (id, customer_id, status, total, updated_at, attributes)
  select seq, 1 + seq % 4, elt(1 + seq % 3, 'new', 'paid', 'shipped'), 10 + (seq % 97) * 1.25,
         now(6) - interval (2000 - seq) second,
         json_object('channel', if(seq % 2, 'web', 'store'),
                     'shipping', json_object('carrier', 'DHL', 'express', seq % 5 = 0),
                     'items', json_array(json_object('sku', 'TEA-1', 'qty', 1 + seq % 3),
                                         json_object('sku', 'MUG-2', 'qty', 1)))
  from seq_1_to_2000;
insert into page_views select concat('/products/', seq % 7), now(6), seq % 60 from seq_1_to_500;
