"""What the tray shows and decides, as plain Python: no Qt here, so the rules are tested without a
display and the widgets only draw what these modules say."""
