# Ohpen transaction ETL (bronze -> silver); the embedded account never runs it
