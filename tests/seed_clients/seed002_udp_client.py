import socket
sock = socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
sock.sendto('你好'.encode('utf-8'),('127.0.0.1',9000))
msg,server_addr = sock.recvfrom(1024)
sock.close()
