# Update the SaltStack Config master plugin on this master host and restart salt-master the
# way the vendor's update process does: through the init system (systemd).
#
#   salt 'master1*' state.apply master_plugin.update
#   salt 'master1*' state.apply master_plugin.update pillar='{"master_plugin": {"version": "8.18.3.6"}}'
#
# master_plugin.updated installs from the verified plugin cache; it does not restart.
# service.running watches it and restarts salt-master when it changed. Without an init system
# (a container) that restart cannot happen: use update_supervisord.sls there, or restart by hand.
SSEAPE:
  master_plugin.updated:
    - version: {{ salt['pillar.get']('master_plugin:version', 'latest') | yaml_dquote }}

salt-master:
  service.running:
    - watch:
      - master_plugin: SSEAPE
