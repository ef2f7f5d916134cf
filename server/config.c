/* placeholder */ typedef int kamd_config_placeholder;
