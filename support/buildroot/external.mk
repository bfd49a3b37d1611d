include $(sort $(wildcard $(BR2_EXTERNAL_DIPUS_PATH)/package/*/*.mk))
