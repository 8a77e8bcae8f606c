"""The things a person sees and clicks: tray icon, menu, quick access, windows and dialogs."""
