# Every external dependency is found once here; targets below only link the imported targets.
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
# Beast (Boost headers) for the HTTP servers and clients; nlohmann-json where protobuf's JSON does
# not fit.
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
# QR codes drawn locally for share links when WeChat is not configured (services/common/qr_png).
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
find_package(ZLIB REQUIRED)

find_path(MYSQLCPPCONN_INCLUDE_DIR NAMES cppconn/driver.h REQUIRED)
find_library(MYSQLCPPCONN_LIBRARY NAMES mysqlcppconn REQUIRED)
add_library(lc_mysqlcppconn INTERFACE)
target_include_directories(lc_mysqlcppconn INTERFACE ${MYSQLCPPCONN_INCLUDE_DIR})
target_link_libraries(lc_mysqlcppconn INTERFACE ${MYSQLCPPCONN_LIBRARY})
