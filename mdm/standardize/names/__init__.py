"""The parts of person-name standardization: vocabulary and casing (`tokens`), scripts and
romanisation (`scripts`), nickname table (`nicknames`). The public functions live in
`mdm.standardize.name`."""
