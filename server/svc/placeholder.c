/* placeholder: replaced by the service-layer work */ typedef int kamd_svc_placeholder;
