"""The Wuye bot process: settings, application factory, command line, i18n, error handling."""
