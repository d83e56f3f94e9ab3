"""The environments model, its loading and the settings precedence."""
