/* isru serial ICD: generated from hal/icd.toml by `python -m hal.icd_gen --write`. Do not edit. */
#ifndef ISRU_ICD_H
#define ISRU_ICD_H

#include <stdint.h>

#define ICD_PROTOCOL_VERSION 1u
#define ICD_HOST_ADDRESS 0x00u
#define ICD_BROADCAST_ADDRESS 0xFFu
#define ICD_MAX_PAYLOAD 240u
#define ICD_DEFAULT_DEADMAN_MS 1000u
#define ICD_MIN_TELEMETRY_PERIOD_MS 10u
#define ICD_RESPONSE_MS 20u
#define ICD_MIN_EVENT_RESEND_MS 50u
#define ICD_EVENT_QUEUE 8u

#define ICD_MSG_COMMAND 0x01u
#define ICD_MSG_ACK 0x02u
#define ICD_MSG_NACK 0x03u
#define ICD_MSG_TELEMETRY 0x04u
#define ICD_MSG_EVENT 0x05u
#define ICD_MSG_IDENTIFY 0x06u
#define ICD_MSG_HEARTBEAT 0x07u
#define ICD_FLAG_RESPONSE 0x01u
#define ICD_FLAG_RETRY 0x02u
#define ICD_NACK_BAD_LENGTH 0x01u
#define ICD_NACK_UNKNOWN_COMMAND 0x02u
#define ICD_NACK_OUT_OF_RANGE 0x03u
#define ICD_NACK_BUSY 0x04u
#define ICD_NACK_INTERLOCK 0x05u
#define ICD_NACK_DEVICE_FAULT 0x06u
#define ICD_NACK_BAD_STATE 0x07u
#define ICD_NACK_UNSUPPORTED_VERSION 0x08u
#define ICD_NACK_BAD_TYPE 0x09u
#define ICD_ACK_DONE 0x00u
#define ICD_ACK_STARTED 0x01u
#define ICD_EVENT_BOOT 0x01u
#define ICD_EVENT_DEADMAN_STOP 0x02u
#define ICD_EVENT_COMMAND_COMPLETE 0x03u
#define ICD_EVENT_FAULT_SET 0x04u
#define ICD_EVENT_FAULT_CLEARED 0x05u
#define ICD_EVENT_MODE_CHANGE 0x06u
/* Events resent until acknowledged (ack_event): DEADMAN_STOP, COMMAND_COMPLETE, FAULT_SET */
#define ICD_SEVERITY_INFO 0x00u
#define ICD_SEVERITY_WARNING 0x01u
#define ICD_SEVERITY_ERROR 0x02u
#define ICD_SEVERITY_CRITICAL 0x03u
#define ICD_COMPLETION_OK 0x00u
#define ICD_COMPLETION_STOPPED 0x01u
#define ICD_COMPLETION_BLOCKED 0x02u
#define ICD_COMPLETION_DEADMAN 0x03u
#define ICD_COMPLETION_FAULT 0x04u
#define ICD_STATE_OFF 0x00u
#define ICD_STATE_IDLE 0x01u
#define ICD_STATE_ACTIVE 0x02u
#define ICD_STATE_FAULT 0x03u

typedef struct __attribute__((packed)) {
    uint8_t event; /* EventId */
    uint8_t severity; /* Severity: 0 info, 1 warning, 2 error, 3 critical */
    uint16_t code; /* event-specific code (command id, fault bit, mode) */
    float value; /* event-specific value (completion, measured value) */
} icd_event_t;
typedef struct __attribute__((packed)) {
    uint8_t device_type; /* device type (the device's address, see the device list) */
    uint8_t protocol_version; /* protocol version the firmware speaks */
    uint8_t fw_major; /* firmware version, major */
    uint8_t fw_minor; /* firmware version, minor */
    uint8_t fw_patch; /* firmware version, patch */
    uint8_t reserved; /* 0 */
    uint32_t serial_number; /* unit serial number */
    uint16_t deadman_ms; /* current dead-man timeout [ms] */
    uint16_t telemetry_period_ms; /* current telemetry period, 0 = off [ms] */
    uint32_t icd_hash; /* definition hash of the device type the firmware was built from (ICD_HASH_<DEVICE> in the C header) */
} icd_identify_t;
typedef struct __attribute__((packed)) {
    uint32_t host_ms; /* host time, wrapping; echoed back [ms] */
} icd_heartbeat_request_t;
typedef struct __attribute__((packed)) {
    uint32_t host_ms; /* the request's host_ms, echoed [ms] */
    uint8_t state; /* DeviceState */
    uint8_t mode; /* device mode */
    uint16_t faults; /* active fault bits */
} icd_heartbeat_reply_t;
typedef struct __attribute__((packed)) {
    uint8_t command; /* command id */
    uint8_t result; /* AckResult */
} icd_ack_t;
typedef struct __attribute__((packed)) {
    uint8_t command; /* command id (0 if the payload was empty) */
    uint8_t code; /* NackCode */
    uint8_t detail; /* 1-based index of the offending argument, or 0 */
} icd_nack_t;
typedef struct __attribute__((packed)) {
    uint8_t state; /* DeviceState: 0 off, 1 idle, 2 active, 3 fault */
    uint8_t mode; /* device-specific mode (see the device's mode table) */
    uint16_t faults; /* bit set of active faults (see the device's fault table) */
    uint32_t uptime_ms; /* time since the device booted, wrapping at 2^32 [ms] */
} icd_telemetry_header_t;

/* ---- common commands (every device) */
#define ICD_CMD_SET_TELEMETRY_PERIOD 0x01u /* Stream TELEMETRY every period_ms (0 stops streaming; 1..9 are raised to 10). */
#define ICD_CMD_SET_DEADMAN 0x02u /* Set the dead-man timeout: actuators stop when no valid frame arrives from the host for this long. */
#define ICD_CMD_STOP 0x03u /* Stop every actuator now and return to idle (mode 0, with MODE_CHANGE if the mode was not 0); a running motion completes STOPPED. Never refused. */
#define ICD_CMD_SELF_TEST 0x04u /* Run the built-in self-test. */
#define ICD_CMD_CLEAR_FAULT 0x05u /* Clear latched faults whose cause is gone; the device returns to idle. */
#define ICD_CMD_GET_TELEMETRY 0x06u /* Reply with one telemetry snapshot (same layout as TELEMETRY). */
#define ICD_CMD_SET_EVENT_RESEND 0x07u /* Resend every unacknowledged reliable event (DEADMAN_STOP, COMMAND_COMPLETE, FAULT_SET) every period_ms until ack_event acknowledges it (0 = off, the power-up value; 1..49 are raised to 50). */
#define ICD_CMD_ACK_EVENT 0x08u /* Acknowledge the event sent with header seq event_seq: it is not resent again (an unknown seq is acknowledged too). */
#define ICD_CMD_RESEND_EVENTS 0x09u /* Resend every unacknowledged reliable event now, oldest first (each before this command's ACK). */
typedef struct __attribute__((packed)) {
    uint16_t period_ms; /* telemetry period [ms] range 0..60000 */
} icd_set_telemetry_period_args_t;
typedef struct __attribute__((packed)) {
    uint16_t timeout_ms; /* dead-man timeout [ms] range 50..60000 */
} icd_set_deadman_args_t;
typedef struct __attribute__((packed)) {
    uint16_t failed_checks; /* bit set of failed checks, 0 = pass */
} icd_self_test_reply_t;
typedef struct __attribute__((packed)) {
    uint16_t period_ms; /* resend period [ms] range 0..60000 */
} icd_set_event_resend_args_t;
typedef struct __attribute__((packed)) {
    uint16_t event_seq; /* the EVENT frame's header seq */
} icd_ack_event_args_t;

/* ---- drill: Rotary-percussive auger drill: rotation, feed axis and percussion. */
#define ICD_ADDRESS_DRILL 0x01u
#define ICD_HASH_DRILL 0xF5DC72B8u
#define ICD_DRILL_CMD_SPIN 0x10u /* Set the auger speed (0 stops rotation). */
#define ICD_DRILL_CMD_FEED 0x11u /* Advance the auger to depth_m at rate_m_s; completes at the depth or on a stall. (motion) */
#define ICD_DRILL_CMD_RETRACT 0x12u /* Withdraw the auger to depth 0 at rate_m_s. (motion) */
#define ICD_DRILL_CMD_PERCUSSION 0x13u /* Switch the hammer on (1) or off (0). */
typedef struct __attribute__((packed)) {
    float rpm; /* speed [rpm] range 0..600 */
} icd_drill_spin_args_t;
typedef struct __attribute__((packed)) {
    float depth_m; /* target depth below the surface [m] range 0..3 */
    float rate_m_s; /* feed rate [m/s] range 0.0001..0.01 */
} icd_drill_feed_args_t;
/* feed: host time-out for COMMAND_COMPLETE, s = 1.5 * depth_m / rate_m_s + 5 */
typedef struct __attribute__((packed)) {
    float rate_m_s; /* retract rate [m/s] range 0.0001..0.05 */
} icd_drill_retract_args_t;
/* retract: host time-out for COMMAND_COMPLETE, s = 1.5 * 3.0 / rate_m_s + 5 */
typedef struct __attribute__((packed)) {
    uint8_t on; /* 1 on, 0 off range 0..1 */
} icd_drill_percussion_args_t;
#define ICD_DRILL_MODE_IDLE 0x00u
#define ICD_DRILL_MODE_SPINNING 0x01u
#define ICD_DRILL_MODE_FEEDING 0x02u
#define ICD_DRILL_MODE_RETRACTING 0x03u
#define ICD_DRILL_MODE_STALLED 0x04u
#define ICD_DRILL_FAULT_STALL 0x0001u
#define ICD_DRILL_FAULT_OVERTEMP 0x0002u
#define ICD_DRILL_FAULT_OVERCURRENT 0x0004u
#define ICD_DRILL_FAULT_SENSOR 0x0008u
#define ICD_DRILL_FAULT_DEADMAN 0x0010u
typedef struct __attribute__((packed)) {
    uint8_t state; /* DeviceState: 0 off, 1 idle, 2 active, 3 fault */
    uint8_t mode; /* device-specific mode (see the device's mode table) */
    uint16_t faults; /* bit set of active faults (see the device's fault table) */
    uint32_t uptime_ms; /* time since the device booted, wrapping at 2^32 [ms] */
    float rpm; /* measured auger speed [rpm] */
    float depth_m; /* bit depth below the surface [m] */
    float feed_rate_m_s; /* measured feed rate (positive down) [m/s] */
    float torque_Nm; /* auger torque [N*m] */
    float current_A; /* motor current [A] */
    float power_W; /* electrical power [W] */
    float bit_temp_K; /* bit temperature [K] */
    float wob_N; /* weight on bit [N] */
    float cuttings_kg; /* cuttings brought up since the last retract [kg] */
    float volatiles_ice_fraction; /* ice mass fraction of the cuttings, from the downhole volatiles sensor [1] range 0..1 */
    uint8_t percussion; /* 1 when the hammer is on [bool] */
} icd_drill_telemetry_t;

/* ---- scoop: Regolith excavator arm with a load-cell bucket that dumps into the extractor hopper. */
#define ICD_ADDRESS_SCOOP 0x02u
#define ICD_HASH_SCOOP 0x710875C7u
#define ICD_SCOOP_CMD_MOVE 0x10u /* Move the arm to angle_rad at speed_rad_s. (motion) */
#define ICD_SCOOP_CMD_DIG 0x11u /* Lower the bucket into the regolith to depth_m and sweep it full. (motion) */
#define ICD_SCOOP_CMD_LIFT 0x12u /* Raise the loaded bucket to the carry angle. (motion) */
#define ICD_SCOOP_CMD_DUMP 0x13u /* Tip the bucket into the extractor hopper. (motion) */
typedef struct __attribute__((packed)) {
    float angle_rad; /* arm angle, 0 horizontal, positive up [rad] range -0.6..2.2 */
    float speed_rad_s; /* arm speed [rad/s] range 0.01..0.5 */
} icd_scoop_move_args_t;
/* move: host time-out for COMMAND_COMPLETE, s = 1.5 * 2.8 / speed_rad_s + 5 */
typedef struct __attribute__((packed)) {
    float depth_m; /* cut depth [m] range 0.005..0.1 */
} icd_scoop_dig_args_t;
/* dig: host time-out for COMMAND_COMPLETE, s = 1.5 * (2.8 / 0.3 + depth_m / 0.01 + 0.4 / 0.05) + 5 */
/* lift: host time-out for COMMAND_COMPLETE, s = 1.5 * 2.8 / 0.3 + 5 */
/* dump: host time-out for COMMAND_COMPLETE, s = 1.5 * (2.8 / 0.3 + 3.0) + 5 */
#define ICD_SCOOP_MODE_IDLE 0x00u
#define ICD_SCOOP_MODE_MOVING 0x01u
#define ICD_SCOOP_MODE_DIGGING 0x02u
#define ICD_SCOOP_MODE_LIFTING 0x03u
#define ICD_SCOOP_MODE_DUMPING 0x04u
#define ICD_SCOOP_FAULT_OVERLOAD 0x0001u
#define ICD_SCOOP_FAULT_OVERCURRENT 0x0002u
#define ICD_SCOOP_FAULT_LOAD_CELL 0x0004u
#define ICD_SCOOP_FAULT_DEADMAN 0x0008u
typedef struct __attribute__((packed)) {
    uint8_t state; /* DeviceState: 0 off, 1 idle, 2 active, 3 fault */
    uint8_t mode; /* device-specific mode (see the device's mode table) */
    uint16_t faults; /* bit set of active faults (see the device's fault table) */
    uint32_t uptime_ms; /* time since the device booted, wrapping at 2^32 [ms] */
    float arm_angle_rad; /* arm angle [rad] */
    float bucket_load_kg; /* bucket load-cell mass [kg] */
    float current_A; /* motor current [A] */
    float dig_force_N; /* digging resistance [N] */
    float power_W; /* electrical power [W] */
    float dumped_kg; /* regolith dumped into the hopper since boot [kg] */
} icd_scoop_telemetry_t;

/* ---- extractor: Thermal water extractor: sealed chamber, heater, vent and a cold trap feeding a water tank. */
#define ICD_ADDRESS_EXTRACTOR 0x03u
#define ICD_HASH_EXTRACTOR 0xA410A5ACu
#define ICD_EXTRACTOR_CMD_LID 0x10u /* Seal (1) or open (0) the chamber lid; regolith is accepted only with the lid open. (motion) */
#define ICD_EXTRACTOR_CMD_HEATER_POWER 0x11u /* Drive the heater open-loop at watts (0 = off). */
#define ICD_EXTRACTOR_CMD_HEATER_SETPOINT 0x12u /* Regulate the chamber to kelvin with the heater (0 = off). */
#define ICD_EXTRACTOR_CMD_VENT 0x13u /* Open (1) or close (0) the vent valve. */
#define ICD_EXTRACTOR_CMD_DUMP 0x14u /* Dump the tailings out of the chamber (lid open). (motion) */
#define ICD_EXTRACTOR_CMD_TRANSFER_WATER 0x15u /* Move the cold-trap water into the tank. (motion) */
typedef struct __attribute__((packed)) {
    uint8_t sealed; /* 1 seal, 0 open range 0..1 */
} icd_extractor_lid_args_t;
/* lid: host time-out for COMMAND_COMPLETE, s = 1.5 * 4.0 + 5 */
typedef struct __attribute__((packed)) {
    float watts; /* heater power [W] range 0..800 */
} icd_extractor_heater_power_args_t;
typedef struct __attribute__((packed)) {
    float kelvin; /* chamber temperature setpoint [K] range 0..900 */
} icd_extractor_heater_setpoint_args_t;
typedef struct __attribute__((packed)) {
    uint8_t open; /* 1 open, 0 closed range 0..1 */
} icd_extractor_vent_args_t;
/* dump: host time-out for COMMAND_COMPLETE, s = 1.5 * 8.0 + 5 */
/* transfer_water: host time-out for COMMAND_COMPLETE, s = 1.5 * 20.0 / 0.005 + 5 */
#define ICD_EXTRACTOR_MODE_IDLE 0x00u
#define ICD_EXTRACTOR_MODE_SEALING 0x01u
#define ICD_EXTRACTOR_MODE_SEALED 0x02u
#define ICD_EXTRACTOR_MODE_HEATING 0x03u
#define ICD_EXTRACTOR_MODE_VENTING 0x04u
#define ICD_EXTRACTOR_MODE_DUMPING 0x05u
#define ICD_EXTRACTOR_MODE_TRANSFERRING 0x06u
#define ICD_EXTRACTOR_FAULT_OVERTEMP 0x0001u
#define ICD_EXTRACTOR_FAULT_HEATER_FAILURE 0x0002u
#define ICD_EXTRACTOR_FAULT_SEAL_LEAK 0x0004u
#define ICD_EXTRACTOR_FAULT_PRESSURE_SENSOR 0x0008u
#define ICD_EXTRACTOR_FAULT_TEMP_SENSOR 0x0010u
#define ICD_EXTRACTOR_FAULT_DEADMAN 0x0020u
typedef struct __attribute__((packed)) {
    uint8_t state; /* DeviceState: 0 off, 1 idle, 2 active, 3 fault */
    uint8_t mode; /* device-specific mode (see the device's mode table) */
    uint16_t faults; /* bit set of active faults (see the device's fault table) */
    uint32_t uptime_ms; /* time since the device booted, wrapping at 2^32 [ms] */
    float chamber_temp_K; /* chamber (regolith) temperature [K] */
    float pressure_Pa; /* chamber pressure [Pa] */
    float heater_power_W; /* heater electrical power [W] */
    float loaded_mass_kg; /* regolith in the chamber [kg] */
    float cold_trap_temp_K; /* cold-trap temperature [K] */
    float water_kg; /* water in the cold trap [kg] */
    float tank_kg; /* water in the tank [kg] */
    float heater_energy_J; /* heater energy since the chamber was last loaded [J] */
    uint8_t lid; /* 0 open, 1 sealed, 2 moving [enum] range 0..2 */
    uint8_t vent; /* 1 when the vent is open [bool] */
} icd_extractor_telemetry_t;

/* ---- imu: Six-axis inertial measurement unit on the rover body. */
#define ICD_ADDRESS_IMU 0x04u
#define ICD_HASH_IMU 0x4DF25250u
#define ICD_IMU_CMD_CALIBRATE 0x10u /* Average the gyro for duration_s at rest and store it as the bias. (motion) */
typedef struct __attribute__((packed)) {
    float duration_s; /* averaging time [s] range 0.5..30 */
} icd_imu_calibrate_args_t;
/* calibrate: host time-out for COMMAND_COMPLETE, s = 1.5 * duration_s + 5 */
#define ICD_IMU_MODE_IDLE 0x00u
#define ICD_IMU_MODE_CALIBRATING 0x01u
#define ICD_IMU_FAULT_SENSOR 0x0001u
#define ICD_IMU_FAULT_SATURATED 0x0002u
typedef struct __attribute__((packed)) {
    uint8_t state; /* DeviceState: 0 off, 1 idle, 2 active, 3 fault */
    uint8_t mode; /* device-specific mode (see the device's mode table) */
    uint16_t faults; /* bit set of active faults (see the device's fault table) */
    uint32_t uptime_ms; /* time since the device booted, wrapping at 2^32 [ms] */
    float ax; /* specific force, x (forward) [m/s^2] */
    float ay; /* specific force, y (left) [m/s^2] */
    float az; /* specific force, z (up) [m/s^2] */
    float gx; /* angular rate about x [rad/s] */
    float gy; /* angular rate about y [rad/s] */
    float gz; /* angular rate about z [rad/s] */
    float temp_K; /* sensor temperature [K] */
} icd_imu_telemetry_t;

/* ---- anchor: 4 screw anchors; a mask selects anchors (bit i = anchor i). */
#define ICD_ADDRESS_ANCHOR 0x05u
#define ICD_HASH_ANCHOR 0xB47A6FA8u
#define ICD_ANCHOR_CMD_DEPLOY 0x10u /* Drive the selected anchors into the ground to depth_m. (motion) */
#define ICD_ANCHOR_CMD_RETRACT 0x11u /* Withdraw the selected anchors. (motion) */
#define ICD_ANCHOR_CMD_PRELOAD 0x12u /* Tension the selected deployed anchors to force_N. (motion) */
typedef struct __attribute__((packed)) {
    uint8_t mask; /* anchors, bit i = anchor i range 1..15 */
    float depth_m; /* anchor depth [m] range 0.01..0.5 */
} icd_anchor_deploy_args_t;
/* deploy: host time-out for COMMAND_COMPLETE, s = 1.5 * depth_m / 1.0e-5 + 5 */
typedef struct __attribute__((packed)) {
    uint8_t mask; /* anchors, bit i = anchor i range 1..15 */
} icd_anchor_retract_args_t;
/* retract: host time-out for COMMAND_COMPLETE, s = 1.5 * 0.5 / 0.02 + 5 */
typedef struct __attribute__((packed)) {
    uint8_t mask; /* anchors, bit i = anchor i range 1..15 */
    float force_N; /* preload [N] range 0..2000 */
} icd_anchor_preload_args_t;
/* preload: host time-out for COMMAND_COMPLETE, s = 1.5 * force_N / 200.0 + 5 */
#define ICD_ANCHOR_MODE_IDLE 0x00u
#define ICD_ANCHOR_MODE_DEPLOYING 0x01u
#define ICD_ANCHOR_MODE_RETRACTING 0x02u
#define ICD_ANCHOR_MODE_PRELOADING 0x03u
#define ICD_ANCHOR_MODE_HOLDING 0x04u
#define ICD_ANCHOR_FAULT_SLIP 0x0001u
#define ICD_ANCHOR_FAULT_OVERCURRENT 0x0002u
#define ICD_ANCHOR_FAULT_DEADMAN 0x0004u
typedef struct __attribute__((packed)) {
    uint8_t state; /* DeviceState: 0 off, 1 idle, 2 active, 3 fault */
    uint8_t mode; /* device-specific mode (see the device's mode table) */
    uint16_t faults; /* bit set of active faults (see the device's fault table) */
    uint32_t uptime_ms; /* time since the device booted, wrapping at 2^32 [ms] */
    float depth0_m; /* anchor 0 depth [m] */
    float depth1_m; /* anchor 1 depth [m] */
    float depth2_m; /* anchor 2 depth [m] */
    float depth3_m; /* anchor 3 depth [m] */
    float preload0_N; /* anchor 0 preload force [N] */
    float preload1_N; /* anchor 1 preload force [N] */
    float preload2_N; /* anchor 2 preload force [N] */
    float preload3_N; /* anchor 3 preload force [N] */
    float holding_N; /* estimated total holding force [N] */
    uint8_t deployed_mask; /* anchors fully deployed, bit i = anchor i [mask] */
    uint8_t slip_mask; /* anchors slipping now, bit i = anchor i [mask] */
} icd_anchor_telemetry_t;

/* ---- drive: Skid-steer wheel drive with odometry. */
#define ICD_ADDRESS_DRIVE 0x06u
#define ICD_HASH_DRIVE 0xB1CE28F9u
#define ICD_DRIVE_CMD_WHEELS 0x10u /* Set left and right wheel ground speeds. */
#define ICD_DRIVE_CMD_TWIST 0x11u /* Set body speed and turn rate. */
#define ICD_DRIVE_CMD_MOVE 0x12u /* Drive straight for distance_m at speed_m_s, then stop. (motion) */
#define ICD_DRIVE_CMD_TURN 0x13u /* Turn in place by angle_rad at rate_rad_s, then stop. (motion) */
typedef struct __attribute__((packed)) {
    float left_m_s; /* left speed [m/s] range -0.3..0.3 */
    float right_m_s; /* right speed [m/s] range -0.3..0.3 */
} icd_drive_wheels_args_t;
typedef struct __attribute__((packed)) {
    float v_m_s; /* forward speed [m/s] range -0.3..0.3 */
    float omega_rad_s; /* turn rate [rad/s] range -1..1 */
} icd_drive_twist_args_t;
typedef struct __attribute__((packed)) {
    float distance_m; /* signed distance [m] range -100..100 */
    float speed_m_s; /* speed [m/s] range 0.01..0.3 */
} icd_drive_move_args_t;
/* move: host time-out for COMMAND_COMPLETE, s = 1.5 * abs(distance_m) / speed_m_s + 5 */
typedef struct __attribute__((packed)) {
    float angle_rad; /* signed angle [rad] range -3.1416..3.1416 */
    float rate_rad_s; /* turn rate [rad/s] range 0.01..1 */
} icd_drive_turn_args_t;
/* turn: host time-out for COMMAND_COMPLETE, s = 1.5 * abs(angle_rad) / rate_rad_s + 5 */
#define ICD_DRIVE_MODE_IDLE 0x00u
#define ICD_DRIVE_MODE_DRIVING 0x01u
#define ICD_DRIVE_MODE_MOVING 0x02u
#define ICD_DRIVE_MODE_TURNING 0x03u
#define ICD_DRIVE_FAULT_WHEEL_STALL 0x0001u
#define ICD_DRIVE_FAULT_OVERCURRENT 0x0002u
#define ICD_DRIVE_FAULT_DEADMAN 0x0004u
typedef struct __attribute__((packed)) {
    uint8_t state; /* DeviceState: 0 off, 1 idle, 2 active, 3 fault */
    uint8_t mode; /* device-specific mode (see the device's mode table) */
    uint16_t faults; /* bit set of active faults (see the device's fault table) */
    uint32_t uptime_ms; /* time since the device booted, wrapping at 2^32 [ms] */
    float x_m; /* odometry x [m] */
    float y_m; /* odometry y [m] */
    float heading_rad; /* odometry heading [rad] */
    float v_m_s; /* measured forward speed [m/s] */
    float omega_rad_s; /* measured turn rate [rad/s] */
    float current_left_A; /* left motor current [A] */
    float current_right_A; /* right motor current [A] */
    float slip; /* slip ratio estimate, 0..1 [1] range 0..1 */
    float odometer_m; /* distance driven since boot [m] */
} icd_drive_telemetry_t;

/* ---- power: Battery, solar array and 8 switched load buses: avionics, drill, scoop, extractor, anchor, drive, imu, comms. */
#define ICD_ADDRESS_POWER 0x07u
#define ICD_HASH_POWER 0x0FDF64B3u
#define ICD_POWER_CMD_BUS 0x10u /* Switch bus index on (1) or off (0). */
typedef struct __attribute__((packed)) {
    uint8_t index; /* bus index (see the bus list) range 0..7 */
    uint8_t on; /* 1 on, 0 off range 0..1 */
} icd_power_bus_args_t;
#define ICD_POWER_MODE_IDLE 0x00u
#define ICD_POWER_MODE_CHARGING 0x01u
#define ICD_POWER_MODE_DISCHARGING 0x02u
#define ICD_POWER_FAULT_LOW_BATTERY 0x0001u
#define ICD_POWER_FAULT_OVERCURRENT 0x0002u
#define ICD_POWER_FAULT_SENSOR 0x0004u
typedef struct __attribute__((packed)) {
    uint8_t state; /* DeviceState: 0 off, 1 idle, 2 active, 3 fault */
    uint8_t mode; /* device-specific mode (see the device's mode table) */
    uint16_t faults; /* bit set of active faults (see the device's fault table) */
    uint32_t uptime_ms; /* time since the device booted, wrapping at 2^32 [ms] */
    float battery_V; /* battery voltage [V] */
    float battery_A; /* battery current, positive discharging [A] */
    float soc; /* state of charge, 0..1 [1] range 0..1 */
    float solar_W; /* solar array input [W] */
    float load_W; /* total load [W] */
    float avionics_W; /* avionics bus load [W] */
    float drill_W; /* drill bus load [W] */
    float scoop_W; /* scoop bus load [W] */
    float extractor_W; /* extractor bus load [W] */
    float anchor_W; /* anchor bus load [W] */
    float drive_W; /* drive bus load [W] */
    float imu_W; /* imu bus load [W] */
    float comms_W; /* comms bus load [W] */
    uint8_t bus_mask; /* bit i set when bus i is on [mask] */
} icd_power_telemetry_t;

/* ---- hopper: Microgravity hopping mobility: an internal flywheel torquer launches the rover (MINERVA-II, MASCOT); it draws on the drive bus. */
#define ICD_ADDRESS_HOPPER 0x08u
#define ICD_HASH_HOPPER 0x43407E45u
#define ICD_HOPPER_CMD_HOP 0x10u /* Spin the flywheel up, brake it to launch at speed_m_s toward heading_rad, fly, bounce and settle. Completes OK settled upright, FAULT tumbled or lost off the surface, BLOCKED when it did not launch. (motion) */
#define ICD_HOPPER_CMD_UPRIGHT 0x11u /* Right a tumbled rover with flywheel torque pulses. (motion) */
typedef struct __attribute__((packed)) {
    float heading_rad; /* launch direction in the position frame [rad] range -3.1416..3.1416 */
    float speed_m_s; /* launch speed [m/s] range 0.001..0.5 */
    float elevation_rad; /* launch elevation above the local horizontal [rad] range 0.1..1.4 */
} icd_hopper_hop_args_t;
/* hop: host time-out for COMMAND_COMPLETE, s = 1.5 * 2 * speed_m_s / 1.0e-5 + 60 */
/* upright: host time-out for COMMAND_COMPLETE, s = 60 */
#define ICD_HOPPER_MODE_SETTLED 0x00u
#define ICD_HOPPER_MODE_SPINNING_UP 0x01u
#define ICD_HOPPER_MODE_BALLISTIC 0x02u
#define ICD_HOPPER_MODE_BOUNCING 0x03u
#define ICD_HOPPER_MODE_SETTLING 0x04u
#define ICD_HOPPER_MODE_RIGHTING 0x05u
#define ICD_HOPPER_MODE_LOST 0x06u
#define ICD_HOPPER_FAULT_FAILED_HOP 0x0001u
#define ICD_HOPPER_FAULT_TUMBLED 0x0002u
#define ICD_HOPPER_FAULT_FLYWHEEL_STUCK 0x0004u
#define ICD_HOPPER_FAULT_LOST 0x0008u
#define ICD_HOPPER_FAULT_DEADMAN 0x0010u
typedef struct __attribute__((packed)) {
    uint8_t state; /* DeviceState: 0 off, 1 idle, 2 active, 3 fault */
    uint8_t mode; /* device-specific mode (see the device's mode table) */
    uint16_t faults; /* bit set of active faults (see the device's fault table) */
    uint32_t uptime_ms; /* time since the device booted, wrapping at 2^32 [ms] */
    float flywheel_rpm; /* flywheel speed [rpm] */
    float x_m; /* position estimate x (inertial dead reckoning of the hops) [m] */
    float y_m; /* position estimate y [m] */
    float height_m; /* height above the local surface (0 settled) [m] */
    float speed_m_s; /* speed over the surface [m/s] */
    float hop_m; /* ground distance of the last hop [m] */
    float power_W; /* electrical power [W] */
    uint16_t hops; /* hops since boot [count] */
    uint8_t bounces; /* bounces of the current or last hop [count] */
    uint8_t upright; /* 1 when the rover rests on its feet [bool] */
} icd_hopper_telemetry_t;

#endif /* ISRU_ICD_H */
