"""E-mail to the person who asked, when their job completes or fails (opt-in: a request's ``notify``)."""
