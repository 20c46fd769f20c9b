"""What to do with a message and how to say it: the decision, the reply templates and their typography. Imports core, knowledge and understanding."""
