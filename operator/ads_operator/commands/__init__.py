"""One module per ``ads-operator`` subcommand (see ``ads_operator.cli``)."""
