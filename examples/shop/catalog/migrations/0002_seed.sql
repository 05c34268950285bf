INSERT INTO products (name, price_cents) VALUES
  ('Espresso cup', 1200),
  ('Pour-over kettle', 4500),
  ('Burr grinder', 12900);
