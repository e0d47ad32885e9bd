"""The person's rights and data retention (Law 91/2025/QH15, Decree 356/2025): the export of
everything held about one person, and the anonymisation of records past their retention period."""
