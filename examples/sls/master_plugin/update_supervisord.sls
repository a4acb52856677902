# The same for a salt-master run by supervisord (common in containers, which have no init
# system, so service.running can't restart anything there). Salt 3008 ships the supervisord
# execution module but no longer a supervisord state, so the restart is supervisorctl's own,
# run only when the plugin changed (onchanges).
#
#   salt 'master1*' state.apply master_plugin.update_supervisord \
#     pillar='{"master_plugin": {"supervisord": {"conf_file": "/etc/supervisord.conf"}}}'
{%- set supervisord = salt['pillar.get']('master_plugin:supervisord', {}) %}
{%- set ctl = supervisord.get('supervisorctl', 'supervisorctl') %}
{%- set conf = supervisord.get('conf_file') %}
SSEAPE:
  master_plugin.updated:
    - version: {{ salt['pillar.get']('master_plugin:version', 'latest') | yaml_dquote }}

restart-salt-master:
  cmd.run:
    - name: {{ ctl }}{% if conf %} -c {{ conf }}{% endif %} restart {{ supervisord.get('program', 'salt-master') }}
    - onchanges:
      - master_plugin: SSEAPE
