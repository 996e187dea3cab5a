-- The bench's source data in MariaDB (preceded by `set @rows = N`): the same values as
-- tests/bench/data_postgres.sql, in MariaDB's types. Change both together.
set time_zone = '+00:00';
create table orders (
  id bigint primary key, customer_id int, status varchar(20), amount decimal(12,2), quantity int,
  created_at timestamp(6) null, updated_at datetime(6), note text, paid tinyint(1), attributes json
);

insert into orders
select seq, 1 + (seq * 7919) % 50000, elt(1 + seq % 5, 'new', 'paid', 'shipped', 'cancelled', 'returned'),
       (seq * 104729) % 10000000 / 100, 1 + seq % 9, created, created + interval seq % 86400 second,
       case when seq % 20 = 0 then null
            when seq % 97 = 0 then 'two\nlines,\ttab, back\\slash, "quotes", ünïcödé ✓'
            else concat('order ', seq, ': ', elt(1 + seq % 5, 'leave at the door', 'call first',
                                                 'gift wrap please', 'fragile', 'no rush')) end,
       seq % 3 <> 0,
       json_object('channel', elt(1 + seq % 3, 'web', 'store', 'app'), 'gift', seq % 7 = 0,
                   'address', json_object(
                     'city', elt(1 + seq % 6, 'Berlin', 'München', 'Zürich', 'São Paulo', 'Kraków', '東京'),
                     'zip', lpad((seq * 31) % 100000, 5, '0')))
from (select seq, timestamp '2024-01-01 00:00:00' + interval seq * 17 second
                  + interval (seq * 389) % 1000000 microsecond as created
      from seq_1_to_1000000000 where seq <= @rows) s;

create index orders_updated_at on orders (updated_at);
analyze table orders;
