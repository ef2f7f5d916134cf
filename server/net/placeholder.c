/* placeholder: replaced by the network-layer work */ typedef int kamd_net_placeholder;
