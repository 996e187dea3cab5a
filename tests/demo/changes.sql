-- Between the two demo runs: a few updates and new rows, in SQL both databases accept.
update customers set email = 'ada@lovelace.example', updated_at = current_timestamp(6) where id = 1;
update orders set status = 'shipped', updated_at = current_timestamp(6) where id <= 25;
insert into customers (id, "Full Name", email, country, updated_at)
  values (5, 'Alan Turing', 'alan@example.com', 'GB', current_timestamp(6));
