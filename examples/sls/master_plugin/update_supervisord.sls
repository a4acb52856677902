# The same for a salt-master run by supervisord (common in containers, which have no init
# system, so service.running can't restart anything there). Salt 3008 ships the supervisord
# execution module but no longer a supervisord state, so the restart is supervisorctl's own,
# run only when the plugin changed (onchanges).
#
# supervisord's configuration and supervisorctl come from pillar, else from the salt-master's
# own master_plugin:supervisord_conf / supervisorctl options:
#
#   salt 'master1*' state.apply master_plugin.update_supervisord
#   salt 'master1*' state.apply master_plugin.update_supervisord \
#     pillar='{"master_plugin": {"supervisord": {"conf_file": "/etc/supervisord.conf"}}}'
{%- set options = salt['master_plugin.settings']()['master_plugin'] %}
{%- set supervisord = salt['pillar.get']('master_plugin:supervisord', {}) %}
{%- set ctl = supervisord.get('supervisorctl') or options.supervisorctl or 'supervisorctl' %}
{%- set conf = supervisord.get('conf_file') or options.supervisord_conf %}
{%- set program = supervisord.get('program') or options.service_name %}
SSEAPE:
  master_plugin.updated:
    - version: {{ salt['pillar.get']('master_plugin:version', 'latest') | yaml_dquote }}

restart-salt-master:
  cmd.run:
    - name: {{ ctl }}{% if conf %} -c {{ conf }}{% endif %} restart {{ program }}
    - onchanges:
      - master_plugin: SSEAPE
