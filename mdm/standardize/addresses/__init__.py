"""Address lines: USPS Publication 28 tables and the per-line parser behind `standardize.address`."""
