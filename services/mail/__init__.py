"""E-mail to people: meeting invitations (with the .ics), cancellations, reminders, alerts."""
