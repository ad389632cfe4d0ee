"""steward: the data steward's workflow over the published master and the durable store.

One service layer (`mdm.steward.service`) that the terminal (`mdm review`) and the web page
(`mdm serve`, mdm/steward/web/) both call; what a decision does on the next run lives in
`mdm.state.decisions`, read by the cluster and publish stages.
"""
