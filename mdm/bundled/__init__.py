"""The product's default rules and data dictionary, as package data: `rules/` and `dictionary/` at
the repository's top are linked here, so a wheel carries them and an installed `mdm` finds them
without the repository (mdm.config.rules.DEFAULT_RULES_DIR, mdm.config.dictionary.DEFAULT_DICTIONARY)."""
