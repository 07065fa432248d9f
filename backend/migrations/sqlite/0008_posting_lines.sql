-- What paid a bill line is read from the postings that name it (consumption details, monthly
-- bills): without this index every line read scanned every posting.
CREATE INDEX postings_bill_line ON postings (bill_line_id) WHERE bill_line_id IS NOT NULL;
