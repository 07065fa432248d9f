-- Who generated a batch of activation codes: only that operator may download it again. Batches
-- made before this migration, or outside an operator's session (the demo), have none and cannot
-- be downloaded again.
ALTER TABLE activation_code_batches ADD COLUMN operator_id BIGINT REFERENCES operators (id);
