"""The public information page of each commune and province (no sign-in): what the law offers,
the commune's services, the counselling hotline and upcoming outreach talks; and the editor
officials use to change it."""
