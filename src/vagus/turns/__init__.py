"""Turn-taking: when the user is done, when to stop for them, what they heard."""
