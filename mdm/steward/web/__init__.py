"""web: the steward's page (`mdm serve`), a thin layer over mdm.steward.desk."""
