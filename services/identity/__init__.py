"""Who is calling: users, passwords and sessions."""
