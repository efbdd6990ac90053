"""What member states and other stakeholders commit to: champion countries and pledges."""
