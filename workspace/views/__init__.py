"""The workspace's pages: My work and the Settings hub (`home`), the global search and
its palette (`search`), and the manager's team drill-downs (`team`)."""
