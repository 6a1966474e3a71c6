"""Names a verdict carries that the gate needs before anything is judged (light: no numpy)."""
POOLED = "all"  # the task name of a verdict pooled over task types
UNCERTAIN_POLICIES = ("fail", "allow")  # what a CI gate does with an uncertain verdict
